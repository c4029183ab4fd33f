/* Autosave for the questionnaire page. Progressive enhancement: without this script the page's
 * "Save and continue" button posts the whole page. With it, every answer is sent as soon as it is
 * given (a JSON POST with the CSRF header), failures are retried, and the status is announced
 * through an aria-live region. */
(function () {
  "use strict";
  var form = document.getElementById("questionnaire");
  if (!form || !window.fetch) return;
  var url = form.dataset.autosaveUrl;
  var status = document.getElementById("save-status");
  var bands = JSON.parse(form.dataset.bands || "[]");
  var total = parseInt(form.dataset.total || "0", 10);
  var rated = parseInt(form.dataset.rated || "0", 10);
  var csrf = (form.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  var pending = {};   // key -> payload not yet saved
  var timers = {};
  var retryTimer = null;
  var inFlight = 0;

  function say(text, isError) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", !!isError);
  }

  // Each card says "Saved" under its own scale, in the page flow (never over content).
  function sayOnCard(key, text, isError) {
    var itemEl = form.querySelector('[data-item="' + key.split(":")[0] + '"]');
    var box = itemEl && itemEl.querySelector(".item-saved");
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("error", !!isError);
  }

  function answered(itemEl) {
    return !!itemEl.querySelector("input.btn-check:checked");
  }

  function updateProgress() {
    var text = document.getElementById("progress-text");
    var bar = document.getElementById("progress-bar");
    if (text) {
      text.textContent = form.dataset.msgProgress
        .replace("__R__", rated).replace("__T__", total);
    }
    if (bar) bar.value = rated;
  }

  function bandOf(value) {
    for (var i = 0; i < bands.length; i++) {
      if (value >= bands[i][0] && value <= bands[i][1]) return i;
    }
    return null;
  }

  function showChangeReason(itemEl) {
    var box = itemEl.querySelector("[data-change-reason]");
    if (!box) return;
    var prev = itemEl.dataset.prevBand;
    var checked = itemEl.querySelector("input.btn-check:checked");
    var reason = box.querySelector("textarea");
    var crossed = false;
    if (prev !== undefined && checked && checked.value !== "unable") {
      crossed = bandOf(parseInt(checked.value, 10)) !== parseInt(prev, 10);
    }
    // Invited, never forced: shown when the rating crosses a band, or when a reason exists.
    box.hidden = !(crossed || (reason && reason.value.trim()));
  }

  function send(key) {
    var payload = pending[key];
    if (!payload) return;
    inFlight++;
    say(form.dataset.msgSaving);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,  // let a save started as the tab closes reach the server
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(payload)
    }).then(function (resp) {
      return resp.json().catch(function () { return {ok: false, error: ""}; })
        .then(function (data) { return {resp: resp, data: data}; });
    }).then(function (r) {
      inFlight--;
      if (r.resp.ok && r.data.ok) {
        if (pending[key] === payload) delete pending[key];
        sayOnCard(key, form.dataset.msgSaved);
        if (!Object.keys(pending).length) say(form.dataset.msgSaved);
      } else if (r.resp.status >= 500) {
        scheduleRetry();
      } else {
        // Refused (closed round, bad value): keep it visible, do not retry forever.
        delete pending[key];
        say(form.dataset.msgError + " " + (r.data.error || r.resp.status), true);
        sayOnCard(key, form.dataset.msgError + " " + (r.data.error || r.resp.status), true);
      }
    }).catch(function () {
      inFlight--;
      say(form.dataset.msgOffline, true);
      sayOnCard(key, form.dataset.msgOffline, true);
      scheduleRetry();
    });
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = setTimeout(function () {
      retryTimer = null;
      Object.keys(pending).forEach(send);
    }, 3000);
  }
  window.addEventListener("online", function () { Object.keys(pending).forEach(send); });

  function queue(itemEl, field, value, delay) {
    var item = itemEl.dataset.item;
    var key = item + ":" + field;
    var payload = {item: item};
    payload[field] = value;
    pending[key] = payload;
    clearTimeout(timers[key]);
    timers[key] = setTimeout(function () { send(key); }, delay);
  }

  form.addEventListener("change", function (ev) {
    var el = ev.target;
    var itemEl = el.closest("[data-item]");
    if (!itemEl) return;
    if (el.classList.contains("btn-check")) {
      var was = itemEl.dataset.answered === "1";
      if (!was) { rated++; itemEl.dataset.answered = "1"; updateProgress(); }
      showChangeReason(itemEl);
      queue(itemEl, "value", el.value, 0);
    } else if (el.tagName === "TEXTAREA") {
      queue(itemEl, el.name.charAt(0) === "c" ? "comment" : "change_reason", el.value, 0);
    }
  });
  form.addEventListener("input", function (ev) {
    var el = ev.target;
    var itemEl = el.closest("[data-item]");
    if (!itemEl || el.tagName !== "TEXTAREA") return;
    queue(itemEl, el.name.charAt(0) === "c" ? "comment" : "change_reason", el.value, 800);
  });
  // Leaving the page with answers still waiting (a comment being typed): send them now.
  window.addEventListener("beforeunload", function () {
    Object.keys(pending).forEach(function (key) { clearTimeout(timers[key]); send(key); });
  });
  form.addEventListener("submit", function () {
    Object.keys(timers).forEach(function (key) { clearTimeout(timers[key]); });
  });

  Array.prototype.forEach.call(form.querySelectorAll("[data-item]"), function (itemEl) {
    itemEl.dataset.answered = answered(itemEl) ? "1" : "0";
    showChangeReason(itemEl);
  });
})();
