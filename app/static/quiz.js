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

// Saving as the respondent goes, once the answers have a private link (the page opened from
// it carries its token): the whole form is sent again a second after the last change. Without
// JavaScript, "Save and continue later" posts the form to the same effect.
(function () {
  var form = document.getElementById("quiz-form");
  var status = document.getElementById("draft-status");
  var copy = document.getElementById("copy-draft-link");
  var url = document.getElementById("draft-url");
  if (copy && url) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var done = function () { status.textContent = "Link copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url.value).then(done, function () { url.select(); status.textContent = "Press Ctrl+C to copy the selected link."; });
      } else {
        url.select();
        try { document.execCommand("copy"); done(); } catch (e) { status.textContent = "Press Ctrl+C to copy the selected link."; }
      }
    });
  }
  if (!form || !form.dataset.draftToken || !window.fetch) return;
  var token = form.dataset.draftToken;
  var timer = null;

  function value(name) {
    var field = form.elements.namedItem(name);
    return field && field.value ? String(field.value).trim() : "";
  }
  function content() {
    var answers = [];
    form.querySelectorAll("fieldset.question:not(.priorities)").forEach(function (fs) {
      var chosen = fs.querySelector("input[type=radio]:checked");
      if (!chosen) return;
      var answer = { question_id: chosen.name, option_id: chosen.value };
      var note = value("note-" + chosen.name), link = value("link-" + chosen.name);
      if (note || link) {
        answer.evidence = {};
        if (note) answer.evidence.note = note;
        if (link) answer.evidence.link = link;
      }
      answers.push(answer);
    });
    var priorities = [];
    form.querySelectorAll("input[name=priority]:checked").forEach(function (box) { priorities.push(box.value); });
    var body = {
      quiz_version: value("quiz_version"),
      answers: answers,
      priorities: priorities,
      context: { state: value("state") || null, role: value("role") || null }
    };
    if (value("team")) body.team = value("team");
    return body;
  }
  function save() {
    timer = null;
    fetch("/api/v1/drafts/" + encodeURIComponent(token), {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(content()),
      credentials: "same-origin"
    }).then(function (r) {
      if (r.ok) {
        var now = new Date();
        status.textContent = "Saved at " + now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ".";
        form.dataset.savedAt = String(now.getTime());
        document.dispatchEvent(new CustomEvent("statequiz-draft-saved"));
      } else {
        status.textContent = "Not saved: " + (r.status === 422 ? "check the notes and links you gave." : "please use \u201cSave and continue later\u201d.");
      }
    }, function () { status.textContent = "Not saved: you seem to be offline. Your answers are still on this page."; });
  }
  function later() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, 1000);
  }
  form.addEventListener("change", later);
  form.addEventListener("input", later);
})();
