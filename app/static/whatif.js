// What-if, live: as answers change, ask the API for the new result compared with the stored
// one and update the table, the new "Begin here" and the spoken summary. Without this file the
// form's "Show what changes" button does the same through the server.
(function () {
  var form = document.getElementById("whatif-form");
  var region = document.getElementById("whatif-comparison");
  if (!form || !region || !window.fetch) return;
  var id = region.getAttribute("data-response-id");
  var summary = document.getElementById("whatif-summary");
  var table = region.querySelector("table.changes");
  var body = document.getElementById("changes-body");
  var beginNow = document.getElementById("begin-now");
  var save = document.getElementById("save-version");
  var saveFields = document.getElementById("save-fields");
  var quizVersion = save.querySelector("input[name=quiz_version]").value;
  var pending = null;

  function answers() {
    var found = [];
    form.querySelectorAll("input[type=radio]:checked").forEach(function (input) {
      found.push({ question_id: input.name, option_id: input.value });
    });
    return found;
  }
  function priorities() {
    return Array.prototype.map.call(form.querySelectorAll("input[name=priority]:checked"), function (i) { return i.value; });
  }
  function cell(tag, text, scope) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (scope) el.setAttribute("scope", scope);
    return el;
  }
  function movedText(c) {
    if (c.moved === "up") return "\u25B2 up " + (c.rank_before - c.rank_after);
    if (c.moved === "down") return "\u25BC down " + (c.rank_after - c.rank_before);
    if (c.moved === "new") return "new";
    return "= same place";
  }
  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    return input;
  }
  function show(result) {
    body.textContent = "";
    result.changes.forEach(function (c) {
      var row = document.createElement("tr");
      row.className = "moved-" + c.moved;
      row.appendChild(cell("th", c.name, "row"));
      row.appendChild(cell("td", c.stage_name_before));
      row.appendChild(cell("td", c.stage_name_after));
      row.appendChild(cell("td", c.rank_before === null ? "\u2013" : String(c.rank_before)));
      row.appendChild(cell("td", String(c.rank_after)));
      row.appendChild(cell("td", movedText(c)));
      body.appendChild(row);
    });
    var names = {};
    result.conditions.forEach(function (c) { names[c.slug] = c.name; });
    beginNow.textContent = "";
    result.begin_here.forEach(function (slug) { beginNow.appendChild(cell("li", names[slug] || slug)); });
    table.hidden = false;
    summary.textContent = result.changes_summary;
    saveFields.textContent = "";
    answers().forEach(function (a) { saveFields.appendChild(hidden(a.question_id, a.option_id)); });
    priorities().forEach(function (p) { saveFields.appendChild(hidden("priority", p)); });
    save.hidden = false;
  }
  function update() {
    if (pending) pending.abort();
    pending = new AbortController();
    var payload = { quiz_version: quizVersion, answers: answers(), priorities: priorities() };
    fetch("/api/v1/score?top=3&compare_to=" + encodeURIComponent(id), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      signal: pending.signal
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (answer) {
      if (answer.ok) show(answer.data);
      else summary.textContent = "That combination cannot be scored: " + (answer.data.error && answer.data.error.message || "please check the answers") + ".";
    }).catch(function (e) {
      if (e.name !== "AbortError") summary.textContent = "Could not update; use \u201cShow what changes\u201d.";
    });
  }
  form.addEventListener("change", update);
})();
