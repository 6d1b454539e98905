/* Newseval judge pages: visible time, copy/paste/tab-away counts, one submit per answer.
   Nothing here knows anything about the texts; it only measures the judge's reading. */
(function () {
  "use strict";

  function now() { return performance.now(); }

  var form = document.getElementById("answer-form");
  if (form) {
    var signalUrl = form.getAttribute("data-signal-url");
    var visibleSince = document.visibilityState === "visible" ? now() : null;
    var pendingMs = 0, pastes = 0, copies = 0, tabaways = 0, submitted = false;

    var settle = function () {
      if (visibleSince !== null) {
        var t = now();
        pendingMs += t - visibleSince;
        visibleSince = t;
      }
    };
    var flush = function () {
      // Report what accumulated since the last report: a reload or a closed tab keeps it.
      if (submitted || !signalUrl || !navigator.sendBeacon) return;
      settle();
      if (pendingMs < 1 && !pastes && !copies && !tabaways) return;
      var data = new FormData();
      data.append("csrfmiddlewaretoken", form.elements.namedItem("csrfmiddlewaretoken").value);
      data.append("item", form.elements.namedItem("item").value);
      data.append("visible_ms", String(Math.round(pendingMs)));
      data.append("pastes", String(pastes));
      data.append("copies", String(copies));
      data.append("tabaways", String(tabaways));
      if (navigator.sendBeacon(signalUrl, data)) {
        pendingMs = 0; pastes = 0; copies = 0; tabaways = 0;
      }
    };

    // Leaving the page counts once per absence, whether the tab was hidden or another
    // window took the focus (a search in a window beside this one).
    // A reload or a link followed hides the page too: that is not looking away.
    var away = false, unloading = false;
    var leave = function () {
      if (!away && !unloading) { away = true; tabaways += 1; }
    };
    window.addEventListener("beforeunload", function () { unloading = true; });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") {
        settle();
        visibleSince = null;
        leave();
        flush();
      } else {
        visibleSince = now();
        away = false;
      }
    });
    window.addEventListener("blur", leave);
    window.addEventListener("focus", function () { away = false; });
    window.addEventListener("pagehide", function () {
      unloading = true;
      settle();
      visibleSince = null;
      flush();
    });
    document.addEventListener("copy", function () { copies += 1; });
    document.addEventListener("paste", function () { pastes += 1; });

    form.addEventListener("submit", function (event) {
      if (submitted) { event.preventDefault(); return; }
      settle();
      form.elements.visible_ms.value = String(Math.round(pendingMs));
      form.elements.pastes.value = String(pastes);
      form.elements.copies.value = String(copies);
      form.elements.tabaways.value = String(tabaways);
      submitted = true;
      var button = document.getElementById("submit-answer");
      if (button) {
        // Disable after the browser has taken the form's data.
        window.setTimeout(function () { button.disabled = true; }, 0);
      }
    });
    // Back from the browser's page cache: the answer is in; show the current item.
    window.addEventListener("pageshow", function (event) {
      unloading = false;
      if (event.persisted && submitted) window.location.reload();
    });
  }

  // Keys answer: 1-5 pick a rating (or the confidence), A/B a text; Enter on a chosen
  // answer submits. A key only selects, so a stray press never records an answer.
  if (form) {
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.type === "radio") {
        event.preventDefault();
        if (form.checkValidity()) {
          if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
        } else {
          form.reportValidity();
        }
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
      var target = event.target;
      if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "radio"))) return;
      var key = String(event.key || "").toLowerCase();
      var radio = form.querySelector('input[type="radio"][data-key="' + key + '"]');
      if (!radio) return;
      event.preventDefault();
      radio.checked = true;
      radio.focus();
    });
  }

  // Back to the recruitment site after a countdown the judge can stop (WCAG 2.2.1).
  var back = document.getElementById("return");
  if (back) {
    var left = parseInt(back.getAttribute("data-seconds") || "0", 10);
    var target = back.getAttribute("data-url");
    var shown = back.querySelector(".countdown");
    var stay = document.getElementById("return-stay");
    if (left > 0 && target) {
      var timer = null;
      var tick = function () {
        if (shown) shown.textContent = "(" + left + ")";
        if (left <= 0) { window.clearInterval(timer); window.location.assign(target); }
        left -= 1;
      };
      if (stay) {
        stay.hidden = false;
        stay.addEventListener("click", function () {
          window.clearInterval(timer);
          stay.hidden = true;
          var note = document.getElementById("return-note");
          if (note) note.hidden = true;
        });
      }
      tick();
      timer = window.setInterval(tick, 1000);
    }
  }

  var mturk = document.getElementById("mturk-submit");
  if (mturk && mturk.getAttribute("data-autosubmit") === "1") {
    mturk.submit();
  }
})();
