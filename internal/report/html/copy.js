(function () {
  "use strict";
  // Copy a reproduce command (the report's and the dashboard's).
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
})();
