/* Newseval dashboard: polls small JSON endpoints and updates the page in place.
   Every number comes from the database through the endpoint, so a reload shows the same. */
(function () {
  "use strict";

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function fmt(value, suffix) {
    return value === null || value === undefined ? "–" : String(value) + (suffix || "");
  }
  function pct(rate) {
    return rate === null || rate === undefined ? "–" : (100 * rate).toFixed(0) + "%";
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 60) return seconds + " s";
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m < 60) return m + " min " + s + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  function setText(root, name, value) {
    root.querySelectorAll('[data-field="' + name + '"]').forEach(function (n) {
      n.textContent = value;
    });
  }
  function row(cells, numeric) {
    var tr = el("tr");
    cells.forEach(function (c, i) {
      var td = el("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      if (numeric && numeric.indexOf(i) >= 0) td.className = "num";
      tr.appendChild(td);
    });
    return tr;
  }
  function badge(state) { return el("span", state, "badge " + state); }

  function poll(root, render) {
    var url = root.getAttribute("data-poll-url");
    var every = parseInt(root.getAttribute("data-poll-ms") || "2000", 10);
    var stopped = false;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (data) {
          root.removeAttribute("data-poll-error");
          stopped = render(root, data) === false;
        })
        .catch(function (err) { root.setAttribute("data-poll-error", String(err)); })
        .then(function () { if (!stopped) setTimeout(tick, every); });
    }
    tick();
  }

  function renderProgress(root, data) {
    var bar = root.querySelector(".progress");
    bar.querySelector(".bar").style.width = data.percent + "%";
    bar.classList.toggle("failed", data.failed);
    bar.classList.toggle("done", data.finished);
    bar.setAttribute("aria-valuenow", data.percent);
    setText(root, "done", data.done);
    setText(root, "total", data.total);
    setText(root, "percent", data.percent + "%");
    setText(root, "rate", fmt(data.texts_per_minute, " texts/min"));
    setText(root, "tokens", fmt(data.tokens_per_second, " tokens/s"));
    setText(root, "left", data.finished ? "done" : (data.running ? duration(data.seconds_left) : "–"));
    setText(root, "heartbeat", data.heartbeat_age_s === null || data.heartbeat_age_s === undefined ? "–" : "seen " + data.heartbeat_age_s + " s ago");
    root.setAttribute("data-done", data.done);
    root.setAttribute("data-total", data.total);
    var tbody = root.querySelector("tbody[data-jobs]");
    if (tbody) {
      tbody.textContent = "";
      data.jobs.forEach(function (j) {
        tbody.appendChild(row([j.condition, badge(j.state), j.done + " / " + (j.total || "?"),
          j.done_batches + " / " + (j.total_batches || "?"), fmt((j.new_tokens || 0) + (j.batch_tokens || 0)), fmt(j.attempts)], [2, 3, 4, 5]));
      });
    }
    var failedBox = root.querySelector("[data-failed]");
    if (failedBox) {
      failedBox.classList.toggle("hidden", !data.failed);
      var list = failedBox.querySelector("[data-errors]");
      list.textContent = "";
      data.jobs.filter(function (j) { return j.state === "failed" || j.state === "stalled"; }).forEach(function (j) {
        list.appendChild(el("div", j.condition + ": " + (j.error || "no error recorded"), "job-error"));
      });
    }
    var status = root.getAttribute("data-status");
    if (status !== data.status) {
      root.setAttribute("data-status", data.status);
      if (status === "generating" && data.status !== "generating") {
        // Generation finished: the page's actions change, so show them.
        setTimeout(function () { window.location.reload(); }, 600);
        return false;
      }
    }
    return data.running ? undefined : false;
  }

  function renderMonitor(root, data) {
    var t = data.totals;
    setText(root, "started", t.started);
    setText(root, "active", t.active);
    setText(root, "completed", t.completed);
    setText(root, "expired", t.expired);
    setText(root, "quota", t.completed + " / " + t.quota);
    setText(root, "completion_rate", pct(t.completion_rate));
    setText(root, "median", t.median_ms_per_item === null ? "–" : (t.median_ms_per_item / 1000).toFixed(1) + " s");
    setText(root, "attention", t.attention_failed_judges + " judges / " + t.attention_failed_items + " items");
    setText(root, "full", t.full_turned_away);
    setText(root, "included", t.included);
    setText(root, "excluded", t.excluded);
    setText(root, "answers", t.answers);
    setText(root, "status", data.status);
    setText(root, "updated", new Date(data.at).toLocaleTimeString());
    root.setAttribute("data-started", t.started);
    root.setAttribute("data-completed", t.completed);
    var cond = root.querySelector("tbody[data-conditions]");
    if (cond) {
      cond.textContent = "";
      data.conditions.forEach(function (c) {
        cond.appendChild(row([c.condition, c.started, c.active, c.completed, c.expired,
          pct(c.completion_rate), c.attention_failed_judges, c.included, c.excluded,
          c.completed + " / " + c.quota], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
      });
    }
    var lists = root.querySelector("tbody[data-lists]");
    if (lists) {
      lists.textContent = "";
      data.lists.forEach(function (l) {
        var q = el("div");
        var p = el("div", null, "progress");
        var b = el("div", null, "bar");
        b.style.width = Math.min(100, l.quota_percent) + "%";
        p.appendChild(b);
        q.appendChild(el("span", l.completed + " / " + l.quota, "small"));
        q.appendChild(p);
        lists.appendChild(row([l.list, l.condition, l.started, l.active, l.completed, l.expired,
          pct(l.completion_rate), l.median_ms_per_item === null ? "–" : (l.median_ms_per_item / 1000).toFixed(1) + " s",
          l.attention_failed_judges, l.included, l.excluded, q], [2, 3, 4, 5, 6, 7, 8, 9, 10]));
      });
    }
  }

  // A server-rendered fragment (escaped by the template) replaces the element's rows.
  function pollFragment(root) {
    var url = root.getAttribute("data-poll-url");
    var every = parseInt(root.getAttribute("data-poll-ms") || "2000", 10);
    function tick() {
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
        .then(function (html) {
          root.removeAttribute("data-poll-error");
          var holder = document.createElement("tbody");
          holder.innerHTML = html;
          root.replaceChildren.apply(root, Array.prototype.slice.call(holder.children));
        })
        .catch(function (err) { root.setAttribute("data-poll-error", String(err)); })
        .then(function () { setTimeout(tick, Math.max(every, 2000)); });
    }
    setTimeout(tick, Math.max(every, 2000));
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll-kind]").forEach(function (root) {
      var kind = root.getAttribute("data-poll-kind");
      if (kind === "fragment") { pollFragment(root); return; }
      poll(root, kind === "progress" ? renderProgress : renderMonitor);
    });

    // The preview frame grows to the judge's whole page, so the scale and Submit show.
    document.querySelectorAll("iframe[data-fit-content]").forEach(function (frame) {
      function fit() {
        try {
          var doc = frame.contentDocument;
          if (doc && doc.documentElement) {
            frame.style.height = Math.max(400, doc.documentElement.scrollHeight + 8) + "px";
          }
        } catch (e) { /* another origin: keep the fixed height */ }
      }
      frame.addEventListener("load", fit);
      fit();
    });

    // Copy buttons: put the named element's text on the clipboard and say so.
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        var status = document.getElementById("copy-status");
        var text = source ? source.textContent : "";
        var done = function () { if (status) status.textContent = "Copied."; };
        var fallback = function () {
          var range = document.createRange();
          range.selectNodeContents(source);
          var sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          if (status) status.textContent = document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C to copy.";
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, fallback);
        } else {
          fallback();
        }
      });
    });

    // Conditions in the study form: add one from the empty template.
    var add = document.getElementById("add-condition");
    if (add) {
      add.addEventListener("click", function () {
        var total = document.getElementById("id_cond-TOTAL_FORMS");
        var n = parseInt(total.value, 10);
        var html = document.getElementById("condition-template").innerHTML.replace(/__prefix__/g, n)
          .replace(/__number__/g, n + 1);
        var holder = document.createElement("div");
        holder.innerHTML = html;
        document.getElementById("conditions").appendChild(holder.firstElementChild);
        total.value = n + 1;
      });
    }
  });
})();
