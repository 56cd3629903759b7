// The API token prompt: a modal dialog that asks until the server takes the token.

const $ = (id) => document.getElementById(id);

/**
 * Show the token dialog; `check(token)` answers whether the server accepted it. Resolves
 * once it did (the dialog cannot be dismissed: nothing works without the token).
 */
export function askForToken(check) {
  const dialog = $("token-dialog");
  const form = $("token-form");
  const input = $("token-input");
  const message = $("token-message");
  return new Promise((resolve) => {
    async function submit(event) {
      event.preventDefault();
      message.textContent = "Checking…";
      let accepted = false;
      try {
        accepted = await check(input.value);
      } catch {
        message.textContent = "The server could not be reached.";
        return;
      }
      if (!accepted) {
        message.textContent = "The server did not accept this token. Ask whoever started it.";
        input.select();
        return;
      }
      form.removeEventListener("submit", submit);
      dialog.removeEventListener("cancel", refuseCancel);
      input.value = "";
      message.textContent = "";
      dialog.close();
      resolve();
    }
    const refuseCancel = (event) => event.preventDefault();
    form.addEventListener("submit", submit);
    dialog.addEventListener("cancel", refuseCancel);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}
