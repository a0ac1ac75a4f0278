// Conveniences only: every page works without this file (and without
// JavaScript). Loaded with defer under the Content-Security-Policy.
//
// Copy buttons: <button type="button" class="copy-button" data-copy="#id" hidden>
// copies the value (or text) of the element #id. They stay hidden without
// JavaScript, where selecting the text does the same.
"use strict";
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  const label = button.textContent;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText("value" in source ? source.value : source.textContent);
      button.textContent = "Copied";
    } catch {
      if (source.select) source.select();
      button.textContent = "Select and copy";
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});
