(function () {
  "use strict";
  // Copy a reproduce command.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest(".btn-copy");
    if (!btn) { return; }
    var code = btn.parentNode.querySelector("code").textContent;
    function done(label) {
      btn.textContent = label;
      setTimeout(function () { btn.textContent = "Copy"; }, 1500);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(code).then(function () { done("Copied"); }, function () { done("Select + copy"); });
    } else {
      done("Select + copy");
    }
  });
  // Refresh every minute, but never under someone reading: not while the
  // tab is hidden, a notebook is open or text is selected.
  setInterval(function () {
    if (document.visibilityState !== "visible" || document.querySelector("details[open]")) { return; }
    var sel = window.getSelection && window.getSelection();
    if (sel && String(sel) !== "") { return; }
    location.reload();
  }, 60000);
})();
