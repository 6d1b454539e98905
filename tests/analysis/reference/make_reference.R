# Reference values for tests/analysis: lme4::glmer (Laplace ML) and t.test on fixed data.
# Run from the repository root:  Rscript tests/analysis/reference/make_reference.R
# Independent of the Python code: R recomputes correctness and per-judge accuracy itself.
suppressPackageStartupMessages(library(lme4))
here <- "tests/analysis/reference"
d <- read.csv(file.path(here, "glmer_responses.csv"), stringsAsFactors = FALSE)
d$says_machine <- d$rating >= 4
d$correct_r <- ifelse(d$rating == 3, NA, as.integer(d$says_machine == (d$is_machine == 1)))
stopifnot(all(is.na(d$correct_r) == is.na(d$correct)))
stopifnot(all(d$correct_r == d$correct, na.rm = TRUE))
nn <- d[!is.na(d$correct_r), ]
nn$condition <- relevel(factor(nn$condition), ref = "control")

m <- glmer(correct_r ~ condition + (1 | judge) + (1 | article), data = nn, family = binomial,
           control = glmerControl(optimizer = "bobyqa"))
fe <- summary(m)$coefficients
vc <- as.data.frame(VarCorr(m))
fixed <- data.frame(term = rownames(fe), estimate = fe[, 1], se = fe[, 2], z = fe[, 3],
                    p = fe[, 4], row.names = NULL)
write.csv(fixed, file.path(here, "glmer_fixed.csv"), row.names = FALSE)
write.csv(data.frame(group = vc$grp, sd = vc$sdcor), file.path(here, "glmer_sd.csv"),
          row.names = FALSE)

# All answers, "I don't know" = wrong (sensitivity version)
d$correct_all <- ifelse(is.na(d$correct_r), 0L, d$correct_r)
d$condition <- relevel(factor(d$condition), ref = "control")
m2 <- glmer(correct_all ~ condition + (1 | judge) + (1 | article), data = d, family = binomial,
            control = glmerControl(optimizer = "bobyqa"))
fe2 <- summary(m2)$coefficients
write.csv(data.frame(term = rownames(fe2), estimate = fe2[, 1], se = fe2[, 2], row.names = NULL),
          file.path(here, "glmer_all_fixed.csv"), row.names = FALSE)
write.csv(data.frame(group = as.data.frame(VarCorr(m2))$grp,
                     sd = as.data.frame(VarCorr(m2))$sdcor),
          file.path(here, "glmer_all_sd.csv"), row.names = FALSE)

# The paper's statistics: per-judge accuracy over non-neutral answers, t.test
acc <- aggregate(correct_r ~ judge + condition, data = nn, FUN = mean)
rows <- list()
ctl <- acc$correct_r[acc$condition == "control"]
for (cond in c("control", "small", "large")) {
  x <- acc$correct_r[acc$condition == cond]
  one <- t.test(x)
  r <- data.frame(condition = cond, judges = length(x), mean = mean(x),
                  ci_low = one$conf.int[1], ci_high = one$conf.int[2],
                  t_student = NA, p_student = NA, t_welch = NA, df_welch = NA, p_welch = NA)
  if (cond != "control") {
    s <- t.test(ctl, x, var.equal = TRUE)
    w <- t.test(ctl, x, var.equal = FALSE)
    r$t_student <- unname(s$statistic); r$p_student <- s$p.value
    r$t_welch <- unname(w$statistic); r$df_welch <- unname(w$parameter); r$p_welch <- w$p.value
  }
  rows[[cond]] <- r
}
write.csv(do.call(rbind, rows), file.path(here, "ttest_reference.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", as.character(packageVersion("lme4"))),
             paste("Matrix", as.character(packageVersion("Matrix"))),
             paste("generated", format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"))),
           file.path(here, "R_VERSIONS.txt"))

# Further fixtures (issue 15): scored data sets written by make_data.py, fitted with nAGQ = 1.
# vcov is glmer's default for a GLMM: from the finite-difference Hessian when it is usable.
for (name in c("paper", "near_zero", "unbalanced")) {
  g <- read.csv(file.path(here, paste0("glmm_", name, ".csv")), stringsAsFactors = FALSE)
  g$condition <- relevel(factor(g$condition), ref = "control")
  fit <- glmer(y ~ condition + (1 | judge) + (1 | article), data = g, family = binomial,
               nAGQ = 1, control = glmerControl(optimizer = "bobyqa"))
  fe <- summary(fit)$coefficients
  vc <- as.data.frame(VarCorr(fit))
  write.csv(data.frame(term = rownames(fe), estimate = fe[, 1], se = fe[, 2], row.names = NULL),
            file.path(here, paste0("glmm_", name, "_fixed.csv")), row.names = FALSE)
  write.csv(data.frame(group = vc$grp, sd = vc$sdcor, deviance = deviance(fit),
                       singular = isSingular(fit),
                       messages = paste(fit@optinfo$conv$lme4$messages, collapse = "; ")),
            file.path(here, paste0("glmm_", name, "_sd.csv")), row.names = FALSE)
}
