// The grade-by-question page (question.html.j2): keys 1-9 apply (or take off) the rubric items,
// Ctrl+Enter saves and goes to the next answer, a kept comment is added to the comment box.
// No inline script anywhere (the desk's Content-Security-Policy); text is set as text, never HTML.
"use strict";

(function () {
  var form = document.getElementById("grade-form");
  if (!form) { return; }
  var items = Array.prototype.slice.call(form.querySelectorAll(".rubric-item"));
  var comment = document.getElementById("comment");

  function show(label) {
    var box = label.querySelector("input[type=checkbox]");
    label.classList.toggle("on", box.checked);
  }
  items.forEach(function (label) {
    label.querySelector("input[type=checkbox]").addEventListener("change", function () { show(label); });
  });
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "checkbox");
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      document.getElementById("save-next").click();
      return;
    }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var n = parseInt(event.key, 10);
    if (n >= 1 && n <= 9 && n <= items.length) {
      event.preventDefault();
      var box = items[n - 1].querySelector("input[type=checkbox]");
      box.checked = !box.checked;
      show(items[n - 1]);
    }
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.reuse"), function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-text") || "";
      comment.value = comment.value.trim() ? comment.value.trim() + "\n" + text : text;
      comment.focus();
    });
  });
}());
