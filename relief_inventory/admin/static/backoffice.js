// The back office's own script (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  // Document forms: "add a line" copies the last line row with its inputs emptied.
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-line]");
    if (add) {
      event.preventDefault();
      var body = document.getElementById(add.getAttribute("data-add-line"));
      var rows = body.querySelectorAll("tr.line-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      copy.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
      body.appendChild(copy);
      return;
    }
    var remove = event.target.closest("[data-remove-line]");
    if (remove) {
      event.preventDefault();
      var row = remove.closest("tr.line-row");
      if (row.parentNode.querySelectorAll("tr.line-row").length > 1) { row.remove(); }
      return;
    }
  });
  // Buttons that need a confirmation carry data-confirm (no inline onclick).
  document.addEventListener("submit", function (event) {
    var ask = event.target.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) { event.preventDefault(); }
  });
})();
// Lot pickers search as you type: the lots of the chosen item in the user's depots.
(function () {
  "use strict";
  var list = document.getElementById("lot-options");
  if (!list) { return; }
  var timer = null;
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-lot")) { return; }
    var row = input.closest("tr");
    var item = row && row.querySelector("[data-item]");
    var depot = document.querySelector("[data-depot]");
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var query = new URLSearchParams({ q: input.value, item: item ? item.value : "", depot: depot ? depot.value : "" });
      fetch("/documents/lot-options?" + query.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (lots) {
          list.innerHTML = "";
          lots.forEach(function (lot) {
            var option = document.createElement("option");
            option.value = lot.number;
            option.textContent = lot.label;
            list.appendChild(option);
          });
        });
    }, 200);
  });
})();
