(function () {
  "use strict";
  // Refresh every minute, but never under someone reading: not while the
  // tab is hidden, a notebook is open or text is selected.
  setInterval(function () {
    if (document.visibilityState !== "visible" || document.querySelector("details[open]")) { return; }
    var sel = window.getSelection && window.getSelection();
    if (sel && String(sel) !== "") { return; }
    location.reload();
  }, 60000);
})();
