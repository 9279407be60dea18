// The recorder form's row editors (take-profit targets, trading windows): add and remove rows. Without
// this script the form still works: it shows the rows there are plus two blank ones.
(() => {
  function setUp() {
    for (const editor of document.querySelectorAll("[data-editor]")) {
      for (const b of editor.querySelectorAll("[data-add-row], [data-remove-row]")) b.hidden = false;
    }
  }

  document.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    const add = target.closest("[data-add-row]");
    if (add) {
      const editor = add.closest("[data-editor]");
      const template = editor?.querySelector("template");
      const rows = editor?.querySelector("[data-rows]");
      if (!editor || !template || !rows) return;
      const index = Number(editor.getAttribute("data-next") || "0");
      editor.setAttribute("data-next", String(index + 1));
      const holder = document.createElement("div");
      holder.innerHTML = template.innerHTML
        .replaceAll("__i__", String(index))
        .replaceAll("__n__", String(index + 1));
      const row = holder.firstElementChild;
      if (!row) return;
      for (const b of row.querySelectorAll("[data-remove-row]")) b.hidden = false;
      rows.appendChild(row);
      row.querySelector("input")?.focus();
      return;
    }
    const remove = target.closest("[data-remove-row]");
    if (remove) {
      const row = remove.closest("[data-row]");
      const editor = remove.closest("[data-editor]");
      row?.remove();
      editor?.querySelector("[data-add-row]")?.focus();
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
