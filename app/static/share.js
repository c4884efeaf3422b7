// Copy-link button on the result page; without JavaScript the link is still shown to copy.
(function () {
  var button = document.getElementById("copy-link");
  var input = document.getElementById((button && button.dataset.copy) || "share-url");
  var status = document.getElementById("copy-status");
  if (!button || !input) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var done = function () { status.textContent = "Link copied."; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { input.select(); status.textContent = "Press Ctrl+C to copy the selected link."; });
    } else {
      input.select();
      try { document.execCommand("copy"); done(); } catch (e) { status.textContent = "Press Ctrl+C to copy the selected link."; }
    }
  });
})();
