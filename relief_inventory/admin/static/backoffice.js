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
// Pickers search as you type: items of the catalogue by code or name, depots where a form
// has too many for a dropdown, and the lots of the chosen item in the user's depots. Each input names its datalist; the server answers JSON.
(function () {
  "use strict";
  var pickers = {
    "data-item": { list: "item-options", url: "/documents/item-options", value: "code", query: function () { return {}; } },
    "data-depot-search": {
      list: "depot-options",
      url: "/documents/depot-options",
      value: "code",
      query: function (input) { return { scope: input.getAttribute("data-scope") }; }
    },
    "data-lot": {
      list: "lot-options",
      url: "/documents/lot-options",
      value: "number",
      query: function (input) {
        var row = input.closest("tr");
        var item = row && row.querySelector("[data-item]");
        var depot = document.querySelector("[data-depot]");
        return { item: item ? item.value : "", depot: depot ? depot.value : "" };
      }
    }
  };
  var timer = null;
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.hasAttribute) { return; }
    Object.keys(pickers).forEach(function (attribute) {
      var picker = pickers[attribute];
      var list = document.getElementById(picker.list);
      if (!list || !input.hasAttribute(attribute)) { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var query = new URLSearchParams(Object.assign({ q: input.value }, picker.query(input)));
        fetch(picker.url + "?" + query.toString(), { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (options) {
            list.innerHTML = "";
            options.forEach(function (found) {
              var option = document.createElement("option");
              option.value = found[picker.value];
              option.textContent = found.label;
              list.appendChild(option);
            });
          });
      }, 200);
    });
  });
})();
