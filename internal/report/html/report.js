(function () {
  "use strict";
  var list = document.getElementById("finding-list");
  if (!list) { return; }
  var rows = Array.prototype.slice.call(list.querySelectorAll("details.finding"));
  var text = document.getElementById("filter-text");
  var status = document.getElementById("filter-status");
  var account = document.getElementById("filter-account");
  var region = document.getElementById("filter-region");
  var shown = document.getElementById("shown-count");
  var none = document.getElementById("no-match");
  var cards = Array.prototype.slice.call(document.querySelectorAll("[data-filter-status]"));

  function apply() {
    var q = text.value.trim().toLowerCase();
    var n = 0;
    rows.forEach(function (row) {
      var ok = (!status.value || row.dataset.status === status.value) &&
        (!account.value || row.dataset.account === account.value) &&
        (!region.value || row.dataset.region === region.value) &&
        (!q || row.dataset.search.indexOf(q) !== -1);
      row.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = String(n);
    none.hidden = n !== 0;
    cards.forEach(function (c) {
      c.classList.toggle("active", status.value !== "" && c.dataset.filterStatus === status.value);
    });
  }

  [text, status, account, region].forEach(function (el) {
    el.addEventListener("input", apply);
    el.addEventListener("change", apply);
  });
  cards.forEach(function (c) {
    c.addEventListener("click", function () {
      status.value = status.value === c.dataset.filterStatus ? "" : c.dataset.filterStatus;
      apply();
      var calm = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      document.getElementById("findings").scrollIntoView({ behavior: calm ? "auto" : "smooth", block: "start" });
    });
  });
  function setOpen(open) {
    rows.forEach(function (row) { if (!row.hidden) { row.open = open; } });
  }
  document.getElementById("expand-all").addEventListener("click", function () { setOpen(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setOpen(false); });
  window.addEventListener("beforeprint", function () { rows.forEach(function (row) { row.open = true; }); });

  // Open the finding named in the URL fragment, e.g. report.html#f-...
  if (location.hash.length > 1) {
    var target = document.getElementById(location.hash.slice(1));
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  apply();
})();
