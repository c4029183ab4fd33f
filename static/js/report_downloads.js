// Polls each report file being generated; reloads the page when all have finished.
// Without script the page still works: it offers a "Refresh now" link.
(function () {
  "use strict";
  var rows = document.querySelectorAll("[data-status-url]");
  if (!rows.length) return;
  var pending = rows.length;

  function poll(row) {
    fetch(row.getAttribute("data-status-url"), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.json();
      })
      .then(function (data) {
        var bar = row.querySelector("progress");
        if (bar) {
          bar.value = data.progress;
          bar.textContent = data.progress + " %";
        }
        var stage = row.querySelector('[data-field="stage"]');
        if (stage) stage.textContent = data.stage || "";
        if (data.finished) {
          pending -= 1;
          if (pending === 0) window.location.reload();
          return;
        }
        window.setTimeout(function () { poll(row); }, 1500);
      })
      .catch(function () {
        window.setTimeout(function () { poll(row); }, 5000);
      });
  }
  rows.forEach(poll);
})();
