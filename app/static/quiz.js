// Optional enhancement of the quiz form: one step (strategy) at a time with progress.
// The form works without it; when the server returned errors, every step stays visible.
(function () {
  var form = document.getElementById("quiz-form");
  if (!form) return;
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); return; }
  var steps = Array.prototype.slice.call(form.querySelectorAll(".step"));
  var progress = document.getElementById("progress");
  var questions = form.querySelectorAll("fieldset.question:not(.priorities)");
  if (steps.length < 2) return;
  form.classList.add("js-steps");
  var current = 0;

  function answered() {
    var n = 0;
    questions.forEach(function (fs) { if (fs.querySelector("input:checked")) n += 1; });
    return n;
  }
  function show(index, moveFocus) {
    current = index;
    steps.forEach(function (step, i) { step.hidden = i !== index; });
    progress.hidden = false;
    progress.textContent = "Step " + (index + 1) + " of " + steps.length + " \u00b7 " + answered() + " of " + questions.length + " questions answered";
    document.dispatchEvent(new CustomEvent("statequiz-step", { detail: { step: index + 1, of: steps.length, answered: answered(), questions: questions.length } }));
    if (moveFocus) {
      var heading = steps[index].querySelector("h2");
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
  steps.forEach(function (step, i) {
    var nav = document.createElement("div");
    nav.className = "step-nav";
    if (i > 0) nav.appendChild(button("Back", "secondary", function () { show(i - 1, true); }));
    if (i < steps.length - 1) nav.appendChild(button("Next", "", function () { show(i + 1, true); }));
    step.appendChild(nav);
  });
  function button(text, extra, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button " + extra;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }
  form.addEventListener("change", function () { show(current, false); });
  show(0, false);
})();
