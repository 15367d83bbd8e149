// The desk's only script, served by the package (the pages' Content-Security-Policy forbids
// inline script). The assignment page: sort and filter the student table, and keep it current
// while a batch writes (polls a stamp each second, reloads the rows when it moves). Any page
// with a regrade running: its progress. Every student value is set as text, never as HTML.
"use strict";

(function () {
  var table = document.getElementById("students");
  var rows = [];          // the students as the API gives them
  var sortKey = "student", sortDir = 1;

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value === undefined || value === null ? "" : String(value);
    if (cls) { el.className = cls; }
    return el;
  }
  function num(v) { return Math.round(v * 10000) / 10000; }
  function value(r, key) {
    if (key === "failed") { return r.failed_exercises.join(", "); }
    if (key === "mistakes") { return r.mistakes.map(function (m) { return m.exercise + ": " + m.mistake; }).join("; "); }
    return r[key];
  }
  function keep(r) {
    var f = function (id) { return document.getElementById(id); };
    var status = f("f-status").value, ex = f("f-exercise").value, mistake = f("f-mistake").value;
    var lo = parseFloat(f("f-min").value), hi = parseFloat(f("f-max").value), name = f("f-name").value.toLowerCase();
    if (status && r.status !== status) { return false; }
    if (ex && r.failed_exercises.indexOf(ex) < 0) { return false; }
    if (mistake && !r.mistakes.some(function (m) { return m.mistake === mistake; })) { return false; }
    if (!isNaN(lo) && r.final < lo) { return false; }
    if (!isNaN(hi) && r.final > hi) { return false; }
    if (f("f-adjusted").checked && !r.adjusted) { return false; }
    if (name && r.student.toLowerCase().indexOf(name) < 0) { return false; }
    return true;
  }
  function draw() {
    var body = table.tBodies[0], base = table.getAttribute("data-student-base");
    var shown = rows.filter(keep).sort(function (a, b) {
      var x = value(a, sortKey), y = value(b, sortKey);
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
    var fresh = document.createElement("tbody");
    shown.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-student", r.student);
      var td = document.createElement("td"), a = text("a", r.student);
      a.href = base + encodeURIComponent(r.student);
      td.appendChild(a); tr.appendChild(td);
      tr.appendChild(text("td", r.status, "status " + r.status));
      tr.appendChild(text("td", num(r.score), "num"));
      tr.appendChild(text("td", num(r.final) + " / " + num(r.max_score), "num final"));
      tr.appendChild(text("td", r.adjusted ? "adjusted" : ""));
      tr.appendChild(text("td", value(r, "failed")));
      tr.appendChild(text("td", value(r, "mistakes")));
      fresh.appendChild(tr);
    });
    table.replaceChild(fresh, body);
    document.getElementById("shown").textContent = shown.length + " of " + rows.length + " shown";
    var sum = rows.reduce(function (s, r) { return s + r.final; }, 0);
    document.getElementById("n-students").textContent = rows.length;
    document.getElementById("mean").textContent = rows.length ? (sum / rows.length).toFixed(2) : "0.00";
    document.getElementById("n-adjusted").textContent = rows.filter(function (r) { return r.adjusted; }).length;
  }
  function load() {
    return fetch(table.getAttribute("data-api"), {credentials: "same-origin"})
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) { if (data) { rows = data.students; draw(); } });
  }
  function poll() {
    fetch(table.getAttribute("data-stamp"), {credentials: "same-origin"})
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) {
        if (data && data.stamp !== table.getAttribute("data-stamp-value")) {
          table.setAttribute("data-stamp-value", data.stamp);
          return load();
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 1000); });
  }
  if (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.addEventListener("click", function () {
        var key = th.getAttribute("data-key");
        sortDir = key === sortKey ? -sortDir : 1; sortKey = key;
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (o) { o.className = o.className.replace(/ ?(asc|desc)/g, ""); });
        th.className += sortDir > 0 ? " asc" : " desc";
        draw();
      });
    });
    ["f-status", "f-exercise", "f-mistake", "f-min", "f-max", "f-adjusted", "f-name"].forEach(function (id) {
      document.getElementById(id).addEventListener("input", draw);
      document.getElementById(id).addEventListener("change", draw);
    });
    load().then(function () { setTimeout(poll, 1000); });
  }

  // the student page: a click on a check chooses it in the adjustment form
  var choose = document.getElementById("adjust-check");
  if (choose) {
    Array.prototype.forEach.call(document.querySelectorAll("tr.check"), function (tr) {
      tr.addEventListener("click", function () {
        choose.value = tr.getAttribute("data-check");
        document.getElementById("adjust-points").focus();
      });
    });
  }

  var job = document.getElementById("job");
  function follow() {
    fetch(job.getAttribute("data-url"), {credentials: "same-origin"})
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        job.textContent = data.words;
        if (data.state === "running") { setTimeout(follow, 1000); }
        else if (!job.hasAttribute("data-seen-end")) { job.setAttribute("data-seen-end", "1"); }
      })
      .catch(function () { setTimeout(follow, 2000); });
  }
  if (job) { follow(); }
}());
