// "Print or save as PDF" on the result page: the browser's own print dialog, which can save a
// PDF too. Without JavaScript, the hint beside it says to use the browser's Print command.
(function () {
  var button = document.getElementById("print-page");
  var hint = document.getElementById("print-hint");
  if (!button || !window.print) return;
  button.hidden = false;
  if (hint) hint.hidden = true;
  button.addEventListener("click", function () { window.print(); });
})();
