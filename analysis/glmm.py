"""A binomial GLMM with two crossed random intercepts, fitted as ``lme4::glmer(nAGQ = 1)`` does.

Model: ``y ~ Bernoulli(expit(X beta + Z Lambda u))`` with ``u ~ N(0, I)`` and ``Lambda =
diag(theta_1 I, theta_2 I)``: one random intercept per level of each grouping factor (judge and
article), random-effect SDs ``theta`` (the binomial family has no residual scale).

Objective (Bates, Maechler, Bolker & Walker 2015, JSS 67(1), section 5 and the glmer vignette):
the Laplace approximation to -2 log-likelihood,

    D(theta, beta) = sum dev_i(mu(u_hat)) + |u_hat|^2 + log det(H),   H = I + Lambda Z' W Z Lambda,

where ``u_hat`` is the conditional mode of ``u`` found by penalised iteratively reweighted least
squares (PIRLS, Newton steps with step halving on the penalised deviance) and ``W = diag(mu (1 -
mu))``. Like glmer's second stage, D is minimised over ``(theta, beta)`` jointly (here L-BFGS-B,
theta >= 0), starting from glmer's first stage (nAGQ = 0: ``beta`` and ``u`` found together by
PIRLS, D minimised over ``theta`` only). Standard errors are glmer's default for GLMMs: the
fixed-effect block of ``inv(Hessian / 2)`` of D over ``(theta, beta)`` by central differences
(step 1e-4, as lme4's ``deriv12``); when that Hessian is not positive definite (e.g. a variance
at its boundary), glmer's fallback, the conditional covariance ``(X'WX - X'WZ Lambda H^-1
Lambda Z'WX)^-1``.

Speed: every judgment has exactly one level of each factor, so ``H`` has a diagonal block for
the larger factor, a diagonal block for the smaller one and a dense cross block ``B``.
Eliminating the larger factor leaves a (smaller factor x smaller factor) Schur complement, so
one Newton step costs O(n + levels_1 x levels_2^2) instead of a sparse Cholesky; 25,000
judgments fit in well under a second per stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, sparse
from scipy.linalg import cho_factor, cho_solve
from scipy.special import expit

_EPS = 1e-12


@dataclass
class GlmmFit:
    beta: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    theta: np.ndarray  # random-effect SDs, one per grouping factor (input order)
    theta_se: np.ndarray  # from the same Hessian; NaN when it was not usable
    deviance: float  # the Laplace objective at the optimum (-2 log L, lme4's "deviance")
    converged: bool
    message: str
    se_method: str
    evaluations: int
    warnings: list[str] = field(default_factory=list)
    u: np.ndarray | None = None  # conditional modes of the spherical effects


class _Structure:
    """Sparse pattern of Z for two crossed factors, with the larger one first."""

    def __init__(self, g1: np.ndarray, g2: np.ndarray, n1: int, n2: int):
        self.g1, self.g2, self.n1, self.n2 = g1, g2, n1, n2
        self.cell = g1 * n2 + g2
        n = len(g1)
        ones, rows = np.ones(n), np.arange(n)
        self.Z1t = sparse.csr_array((ones, (g1, rows)), shape=(n1, n))
        self.Z2t = sparse.csr_array((ones, (g2, rows)), shape=(n2, n))

    def zt(self, v: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lambda Z' v for a vector v."""
        return (
            theta[0] * np.bincount(self.g1, v, self.n1),
            theta[1] * np.bincount(self.g2, v, self.n2),
        )

    def zt_mat(self, V: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta[0] * (self.Z1t @ V), theta[1] * (self.Z2t @ V)

    def z(self, u1: np.ndarray, u2: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Z Lambda u (vector or matrix u)."""
        return theta[0] * u1[self.g1] + theta[1] * u2[self.g2]


class _H:
    """H = I + Lambda Z' W Z Lambda, factored through the Schur complement of the big block."""

    def __init__(self, st: _Structure, w: np.ndarray, theta: np.ndarray):
        t1, t2 = theta
        self.d1 = 1.0 + t1 * t1 * np.bincount(st.g1, w, st.n1)
        d2 = 1.0 + t2 * t2 * np.bincount(st.g2, w, st.n2)
        self.B = (t1 * t2) * np.bincount(st.cell, w, st.n1 * st.n2).reshape(st.n1, st.n2)
        self.Bd = self.B / self.d1[:, None]
        S = np.diag(d2) - self.B.T @ self.Bd
        self.chol = cho_factor(S, lower=True)
        self.logdet = float(np.log(self.d1).sum() + 2 * np.log(np.diag(self.chol[0])).sum())

    def solve(self, r1: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if r1.ndim == 1:
            x2 = cho_solve(self.chol, r2 - self.Bd.T @ r1)
            return (r1 - self.B @ x2) / self.d1, x2
        x2 = cho_solve(self.chol, r2 - self.Bd.T @ r1)
        return (r1 - self.B @ x2) / self.d1[:, None], x2

    def leverage(self, st: _Structure, theta: np.ndarray) -> np.ndarray:
        """diag(Z Lambda H^-1 Lambda Z') per observation, and the traces of H^-1's two blocks."""
        Sinv = cho_solve(self.chol, np.eye(self.B.shape[1]))
        G = self.Bd @ Sinv  # -(H^-1)_12
        h11 = 1.0 / self.d1 + np.einsum("ij,ij->i", G, self.Bd)
        h22 = np.diag(Sinv)
        h12 = G.ravel()[st.cell]
        t1, t2 = theta
        lev = t1 * t1 * h11[st.g1] + t2 * t2 * h22[st.g2] - 2 * t1 * t2 * h12
        return lev, float(h11.sum()), float(h22.sum())


def _bernoulli_dev(y: np.ndarray, eta: np.ndarray) -> float:
    # -2 log-likelihood, stable for large |eta|: log(1 + e^eta) - y eta
    return float(2 * (np.logaddexp(0.0, eta) - y * eta).sum())


class _Problem:
    def __init__(self, y: np.ndarray, X: np.ndarray, st: _Structure):
        self.y, self.X, self.st = y, X, st
        self.u1 = np.zeros(st.n1)
        self.u2 = np.zeros(st.n2)
        self.evaluations = 0

    # ---- PIRLS over u for fixed (theta, beta)
    def pirls(self, theta: np.ndarray, beta: np.ndarray, tol: float = 1e-11, max_iter: int = 60):
        st, y = self.st, self.y
        off = self.X @ beta
        u1, u2 = self.u1.copy(), self.u2.copy()

        def pdev(a, b):
            eta = off + st.z(a, b, theta)
            return _bernoulli_dev(y, eta) + a @ a + b @ b, eta

        obj, eta = pdev(u1, u2)
        for _ in range(max_iter):
            mu = expit(eta)
            w = np.maximum(mu * (1 - mu), _EPS)
            H = _H(st, w, theta)
            g1, g2 = st.zt(y - mu, theta)
            d1, d2 = H.solve(g1 - u1, g2 - u2)
            step = 1.0
            for _ in range(30):
                n1, n2 = u1 + step * d1, u2 + step * d2
                new, eta_new = pdev(n1, n2)
                if new <= obj + 1e-10 * abs(obj):
                    break
                step /= 2
            else:
                raise RuntimeError("PIRLS step halving failed to reduce the penalised deviance")
            u1, u2, change, obj, eta = n1, n2, obj - new, new, eta_new
            if change < tol * (1 + abs(obj)) and step * max(abs(d1).max(), abs(d2).max()) < 1e-8:
                break
        else:
            raise RuntimeError("PIRLS did not converge")
        mu = expit(eta)
        w = np.maximum(mu * (1 - mu), _EPS)
        H = _H(st, w, theta)
        self.u1, self.u2 = u1, u2
        self.evaluations += 1
        return obj + H.logdet, u1, u2, mu, w, H

    def laplace(self, theta: np.ndarray, beta: np.ndarray) -> float:
        return self.pirls(np.abs(theta), beta)[0]

    def value_and_grad(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """D and its exact gradient over (theta, beta).

        The penalised deviance is stationary in u at u_hat (envelope theorem), so only its
        partial derivatives count; log det H moves with theta directly and through
        W(eta(u_hat(theta, beta))), which needs d u_hat = -H^-1 d(grad_u).
        """
        theta, beta = np.abs(params[:2]), params[2:]
        dev, u1, u2, mu, w, H = self.pirls(theta, beta)
        X, st, y = self.X, self.st, self.y
        r = y - mu
        lev, tr1, tr2 = H.leverage(st, theta)
        dw = lev * mu * (1 - mu) * (1 - 2 * mu)  # d log det H / d eta_i
        c1, c2 = st.zt_mat(X * w[:, None], theta)
        s1, s2 = H.solve(c1, c2)
        M = X - st.z(s1, s2, theta)  # d eta / d beta, including the response of u_hat
        g_beta = -2 * X.T @ r + M.T @ dw
        g_theta = np.zeros(2)
        direct = (u1[st.g1], u2[st.g2])
        traces = (tr1, tr2)
        levels = (st.n1, st.n2)
        for k in range(2):
            deta = direct[k]
            # d(grad_u)/d theta_k at fixed u = -E_k Z'r + Lambda Z' W deta
            a1, a2 = st.zt(w * deta, theta)
            if k == 0:
                b1, b2 = np.bincount(st.g1, r, st.n1) - a1, -a2
            else:
                b1, b2 = -a1, np.bincount(st.g2, r, st.n2) - a2
            du1, du2 = H.solve(b1, b2)
            deta_total = deta + st.z(du1, du2, theta)
            partial = 2 * (levels[k] - traces[k]) / theta[k] if theta[k] > 1e-10 else 0.0
            g_theta[k] = -2 * r @ deta + partial + dw @ deta_total
        return dev, np.concatenate([g_theta, g_beta])

    # ---- nAGQ = 0: beta and u together by PIRLS, for fixed theta
    def joint_pirls(self, theta: np.ndarray, beta: np.ndarray, max_iter: int = 60):
        st, y, X = self.st, self.y, self.X
        u1, u2, b = self.u1.copy(), self.u2.copy(), beta.copy()

        def pdev(a1, a2, bb):
            eta = X @ bb + st.z(a1, a2, theta)
            return _bernoulli_dev(y, eta) + a1 @ a1 + a2 @ a2, eta

        obj, eta = pdev(u1, u2, b)
        for _ in range(max_iter):
            mu = expit(eta)
            w = np.maximum(mu * (1 - mu), _EPS)
            H = _H(st, w, theta)
            r = y - mu
            g1, g2 = st.zt(r, theta)
            g1, g2 = g1 - u1, g2 - u2
            gb = X.T @ r
            c1, c2 = st.zt_mat(X * w[:, None], theta)
            s1, s2 = H.solve(c1, c2)
            t1, t2 = H.solve(g1, g2)
            schur = (X.T * w) @ X - (c1.T @ s1 + c2.T @ s2)
            db = np.linalg.solve(schur, gb - (c1.T @ t1 + c2.T @ t2))
            d1, d2 = t1 - s1 @ db, t2 - s2 @ db
            step = 1.0
            for _ in range(30):
                new, eta_new = pdev(u1 + step * d1, u2 + step * d2, b + step * db)
                if new <= obj + 1e-10 * abs(obj):
                    break
                step /= 2
            u1, u2, b = u1 + step * d1, u2 + step * d2, b + step * db
            change, obj, eta = obj - new, new, eta_new
            if change < 1e-10 * (1 + abs(obj)):
                break
        mu = expit(eta)
        H = _H(st, np.maximum(mu * (1 - mu), _EPS), theta)
        self.u1, self.u2 = u1, u2
        return obj + H.logdet, b

    def conditional_cov(self, theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
        _, _, _, _, w, H = self.pirls(theta, beta)
        X, st = self.X, self.st
        c1, c2 = st.zt_mat(X * w[:, None], theta)
        s1, s2 = H.solve(c1, c2)
        return np.linalg.inv((X.T * w) @ X - (c1.T @ s1 + c2.T @ s2))


def fit_glmm(
    y: np.ndarray,
    X: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray],
    *,
    hessian: bool = True,
) -> GlmmFit:
    """Fit ``y ~ X + (1 | groups[0]) + (1 | groups[1])``, binomial logit link, Laplace.

    Parameters
    ----------
    y : array of 0/1
    X : (n, p) fixed-effect design, full column rank
    groups : two integer code arrays (0 .. levels - 1), one level per observation each
    hessian : standard errors from the finite-difference Hessian (glmer's default); False uses
        the conditional covariance only (faster; used inside power simulations).

    Convergence problems are never hidden: ``converged`` is False and ``message`` says why.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must be 0/1")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("fixed-effect design is rank deficient (a condition with no data?)")
    g = [np.asarray(c, dtype=np.int64) for c in groups]
    n_levels = [int(c.max()) + 1 if len(c) else 0 for c in g]
    swap = n_levels[1] > n_levels[0]
    if swap:
        g, n_levels = g[::-1], n_levels[::-1]
    prob = _Problem(y, X, _Structure(g[0], g[1], n_levels[0], n_levels[1]))
    theta0, beta0 = _first_stage(prob, _logistic_start(y, X))
    theta, beta, dev, converged, message = _second_stage(prob, theta0, beta0)
    warns: list[str] = []
    if not converged:
        warns.append(f"Laplace fit did not converge: {message}")
    for k in range(2):
        if theta[k] < 1e-4:
            name = "second" if (k == 0) == swap else "first"
            warns.append(f"the {name} random-effect SD is at its boundary (0): singular fit")
    cov, theta_se, se_method = _covariance(prob, theta, beta, hessian, warns)
    prob.pirls(theta, beta)
    u = np.concatenate([prob.u1, prob.u2] if not swap else [prob.u2, prob.u1])
    if swap:
        theta, theta_se = theta[::-1], theta_se[::-1]
    return GlmmFit(
        beta=beta,
        se=np.sqrt(np.diag(cov)),
        cov=cov,
        theta=theta,
        theta_se=theta_se,
        deviance=dev,
        converged=converged,
        message=message,
        se_method=se_method,
        evaluations=prob.evaluations,
        warnings=warns,
        u=u,
    )


def _logistic_start(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Starting beta from a plain logistic regression (a few Newton steps)."""
    beta = np.zeros(X.shape[1])
    for _ in range(25):
        mu = expit(X @ beta)
        w = np.maximum(mu * (1 - mu), 1e-6)
        step = np.linalg.solve((X.T * w) @ X, X.T @ (y - mu))
        beta = beta + step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def _first_stage(prob: _Problem, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glmer's nAGQ = 0: theta optimised with beta and u found together by joint PIRLS."""
    state = {"beta": beta}

    def deviance(t):
        dev, b = prob.joint_pirls(np.abs(t), state["beta"])
        state["beta"] = b
        return dev

    s1 = optimize.minimize(
        deviance, np.ones(2), method="L-BFGS-B", bounds=[(0, None)] * 2, options={"ftol": 1e-9}
    )
    theta0 = np.clip(s1.x, 0, None)
    _, beta0 = prob.joint_pirls(theta0, state["beta"])
    return theta0, beta0


def _second_stage(
    prob: _Problem, theta0: np.ndarray, beta0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, bool, str]:
    """The Laplace deviance over (theta, beta) jointly: theta, beta, the deviance there, and
    whether it converged (the optimiser says so and the gradient over the free parameters,
    theta off its boundary and beta, is small) with the optimiser's message."""
    bounds = [(0, None)] * 2 + [(None, None)] * len(beta0)
    s2 = optimize.minimize(
        prob.value_and_grad,
        np.concatenate([theta0, beta0]),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-14, "gtol": 1e-7, "maxiter": 500},
    )
    theta, beta = np.clip(s2.x[:2], 0, None), s2.x[2:]
    dev = prob.laplace(theta, beta)
    _, grad = prob.value_and_grad(np.concatenate([theta, beta]))
    free = np.concatenate([theta > 1e-4, np.ones(len(beta), dtype=bool)])
    max_grad = float(np.abs(grad[free]).max())
    converged = bool(s2.success) and max_grad < 1e-2
    message = str(s2.message)
    if not converged:
        message = f"{message}; max |gradient| {max_grad:.2g}"
    return theta, beta, dev, converged, message


def _covariance(
    prob: _Problem, theta: np.ndarray, beta: np.ndarray, hessian: bool, warns: list[str]
) -> tuple[np.ndarray, np.ndarray, str]:
    """Fixed-effect covariance, random-effect SD standard errors and how they were found."""
    se_method = "conditional covariance (X'WX - X'WZ Lambda H^-1 Lambda Z'WX)^-1"
    theta_se = np.full(2, np.nan)
    cov = prob.conditional_cov(theta, beta)
    if hessian:
        hess = _hessian(prob, np.concatenate([theta, beta]))
        try:
            full = np.linalg.inv(hess / 2)
            np.linalg.cholesky(hess / 2)
            cov = full[2:, 2:]
            theta_se = np.sqrt(np.clip(np.diag(full)[:2], 0, None))
            se_method = "inverse Hessian of the Laplace deviance over (theta, beta), as glmer"
        except np.linalg.LinAlgError:
            warns.append(
                "Hessian not positive definite (variance at its boundary?): standard errors "
                "from the conditional covariance, as glmer falls back to"
            )
    return cov, theta_se, se_method


def _hessian(prob: _Problem, x: np.ndarray, delta: float = 1e-4) -> np.ndarray:
    """Hessian of the Laplace deviance by central differences of its exact gradient.

    lme4's deriv12 differences the deviance itself with the same step; differencing the
    gradient needs 2k instead of 2k^2 evaluations and agrees with it to finite-difference
    precision. At theta = 0 the deviance is evaluated at |theta| (it is even in theta).
    """
    k = len(x)
    H = np.zeros((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = delta
        H[i] = (prob.value_and_grad(x + e)[1] - prob.value_and_grad(x - e)[1]) / (2 * delta)
    return (H + H.T) / 2
