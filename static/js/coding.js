// The coding page: keep the "N selected" badge in step with the checkboxes, and show only the
// fields the chosen action needs (without script every field shows; the server checks them).
(function () {
  "use strict";
  var form = document.getElementById("coding-form");
  var badge = document.getElementById("coding-selected");
  if (!form || !badge) return;
  var FIELDS = {
    new: ["domain", "code", "text", "plain_text", "text_es", "plain_text_es"],
    link: ["statement"],
    unusable: ["reason"],
  };
  var ALL = [].concat(FIELDS.new, FIELDS.link, FIELDS.unusable);
  function update() {
    var n = form.querySelectorAll("input.coding-pick:checked").length;
    badge.textContent = n + " selected";
  }
  function showFields() {
    var chosen = form.querySelector("input[name=action]:checked");
    var wanted = FIELDS[chosen ? chosen.value : "new"] || ALL;
    ALL.forEach(function (name) {
      var box = document.getElementById("div_id_" + name);
      if (box) box.hidden = wanted.indexOf(name) < 0;
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.classList.contains("coding-pick")) update();
    if (event.target.name === "action") showFields();
  });
  update();
  showFields();
})();
