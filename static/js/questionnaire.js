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
  var pending = {};   // item -> true while its latest state is not yet saved
  var timers = {};
  var retryTimer = null;
  var inFlight = 0;

  function say(text, isError) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", !!isError);
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

  // Last action wins: every save of an item carries a sequence number, one more than the last
  // this page sent or the server held when the page was drawn (data-seqs). The server keeps a
  // save only if its number is newer, so of two taps whose requests cross, the later stays.
  var seqs = JSON.parse(form.dataset.seqs || "{}");
  var latest = {};    // item -> seq of the newest save sent

  // What the page shows for an item now: its rating (if one is chosen), comment and reason.
  // Sent whole, so a newer save never leaves an older field behind.
  function snapshot(itemEl) {
    var payload = {item: itemEl.dataset.item};
    var checked = itemEl.querySelector("input.btn-check:checked");
    if (checked) payload.value = checked.value;
    Array.prototype.forEach.call(itemEl.querySelectorAll("textarea"), function (el) {
      payload[el.name.charAt(0) === "c" ? "comment" : "change_reason"] = el.value;
    });
    return payload;
  }

  function showItemError(itemEl, text) {
    var box = itemEl.querySelector(".autosave-error");
    if (!text) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = document.createElement("p");
      box.className = "autosave-error alert alert-danger py-2 px-3 mt-2 mb-0 small";
      box.setAttribute("role", "alert");
      (itemEl.querySelector(".card-body") || itemEl).appendChild(box);
    }
    box.textContent = text;
  }

  // Each card says "Saved" under its own scale, in the page flow (never over content).
  function showItemSaved(itemEl, text) {
    var box = itemEl.querySelector(".item-saved");
    if (box) box.textContent = text;
  }

  function showPageError(text) {
    var box = document.getElementById("autosave-page-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "autosave-page-error";
      box.className = "alert alert-danger";
      box.setAttribute("role", "alert");
      form.parentNode.insertBefore(box, form);
    }
    box.textContent = text;
  }

  function send(key) {
    var itemEl = form.querySelector('[data-item="' + key + '"]');
    if (!pending[key] || !itemEl) return;
    var payload = snapshot(itemEl);
    var seq = Math.max(seqs[key] || 0, latest[key] || 0) + 1;
    latest[key] = seq;
    payload.seq = seq;
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
        // Settled only by the newest save of the item; an older one's reply changes nothing.
        if (latest[key] === seq) {
          delete pending[key];
          showItemError(itemEl, "");
          showItemSaved(itemEl, form.dataset.msgSaved);
        }
        if (!Object.keys(pending).length && !inFlight) say(form.dataset.msgSaved);
      } else if (r.resp.status >= 500) {
        scheduleRetry();
      } else {
        // Refused (closed round, bad value, ended session): shown on the statement and at the
        // top of the page, not only in the console; not retried for ever.
        if (latest[key] === seq) delete pending[key];
        var text = form.dataset.msgError + " " + (r.data.error || r.resp.status);
        showItemError(itemEl, text);
        showItemSaved(itemEl, "");
        if (r.resp.status === 409 || r.resp.status === 403) showPageError(text);
        say(text, true);
      }
    }).catch(function () {
      inFlight--;
      say(form.dataset.msgOffline, true);
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
    var key = itemEl.dataset.item;
    pending[key] = true;
    clearTimeout(timers[key]);
    if (delay) {
      timers[key] = setTimeout(function () { send(key); }, delay);
    } else {
      send(key);
    }
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
