// Progressive enhancement for the checklist walk (the page works without it): j/k move
// through the OPEN items, x selects the current one, a selects it and puts the cursor in the
// note. No inline script anywhere: the Content-Security-Policy allows only this file.
(function () {
  "use strict";
  function openRows() {
    return Array.prototype.slice.call(document.querySelectorAll('tr.item[data-status="OPEN"]'));
  }
  var current = -1;
  function focusRow(index) {
    var rows = openRows();
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(index, rows.length - 1));
    rows.forEach(function (r) { r.classList.remove("current"); });
    var row = rows[current];
    row.classList.add("current");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "center" });
  }
  function currentBox() {
    var rows = openRows();
    return current >= 0 && rows[current] ? rows[current].querySelector('input[type="checkbox"]') : null;
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(tag) || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.key === "j") { focusRow(current + 1); event.preventDefault(); }
    else if (event.key === "k") { focusRow(current - 1); event.preventDefault(); }
    else if (event.key === "x") {
      var box = currentBox();
      if (box) { box.checked = !box.checked; event.preventDefault(); }
    } else if (event.key === "a") {
      var selected = currentBox();
      var note = document.getElementById("note");
      if (selected) { selected.checked = true; }
      if (note) { note.focus(); event.preventDefault(); }
    }
  });
})();
