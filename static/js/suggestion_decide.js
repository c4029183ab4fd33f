// The suggestion decision form: show only the chosen action's fields. Without this script
// every field stays visible and the server checks the ones the action needs.
(function () {
  "use strict";
  var form = document.getElementById("suggestion-decision");
  if (!form) return;
  var radios = form.querySelectorAll('input[name="action"]');
  var sets = form.querySelectorAll("fieldset[data-action]");

  function update() {
    var chosen = form.querySelector('input[name="action"]:checked');
    var action = chosen ? chosen.value : "";
    sets.forEach(function (set) {
      set.hidden = set.getAttribute("data-action") !== action;
    });
  }

  radios.forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
