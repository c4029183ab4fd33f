// Polls the consensus run's status row while it runs; reloads the page when it has finished.
// Without script the page still works: it offers a "Refresh now" link.
(function () {
  "use strict";
  var box = document.getElementById("run-status");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var delay = 1500;

  function field(name) {
    return box.querySelector('[data-run-field="' + name + '"]');
  }

  function show(data) {
    var status = field("status_label");
    if (status && data.status_label) status.textContent = data.status_label;
    var stage = field("stage");
    if (stage) stage.textContent = data.stage || "";
    var percent = field("progress");
    if (percent) percent.textContent = String(data.progress);
    var bar = document.getElementById("run-progress");
    if (bar) {
      bar.value = data.progress;
      bar.textContent = data.progress + " %";
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.finished) {
          window.location.reload();
          return;
        }
        delay = 1500;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A hiccup (server restart, network): back off, keep trying.
        delay = Math.min(delay * 2, 30000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
