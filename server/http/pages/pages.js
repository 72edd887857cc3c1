// The landing pages that mails link to (/verify-email, /accept-invitation, /reset-password), and
// /passkeys, where a person signs in with a passkey and manages theirs.
// Served as a static file: the pages' CSP allows scripts from this origin only, never inline.
// Opening a page changes nothing: the invitation and reset pages only ask whether the link still
// works (POST /api/auth/link-state reads, never spends); the token is used when the person submits.

(() => {
  const page = document.body.dataset.page;
  const token = (new URLSearchParams(window.location.search).get("token") || "").trim();
  const byId = (id) => document.getElementById(id);
  const result = byId("result");

  /**
   * Calls the API with a JSON body (if any) and a bearer token (if any); never throws. `data` is
   * the answer's body, `code` the API's error code (or NETWORK).
   */
  async function call(method, path, body, accessToken) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          accept: "application/json",
          ...(body !== undefined && { "content-type": "application/json" }),
          ...(accessToken && { authorization: `Bearer ${accessToken}` }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      return { ok: false, status: 0, code: "NETWORK", message: "" };
    }
    let data = {};
    try {
      data = await response.json();
    } catch {
      // A proxy's HTML error page, say: the status still tells what happened.
    }
    return {
      ok: response.ok,
      status: response.status,
      data,
      code: typeof data.code === "string" ? data.code : undefined,
      message: typeof data.message === "string" ? data.message : "",
      issues: Array.isArray(data.issues) ? data.issues : [],
      retryAfter: Number(response.headers.get("retry-after")) || undefined,
    };
  }

  const post = (path, body) => call("POST", path, body);

  /**
   * Shows an outcome in a live region, built from text nodes only (a server message is never
   * parsed as HTML). `focus` moves the keyboard focus there, for outcomes that replace the form;
   * `signIn` adds the next step, a link to where the person signs in (SIGN_IN_URL).
   */
  function show(region, { tone, title, lines, focus, signIn }) {
    const box = document.createElement("div");
    box.className = `notice notice-${tone}`;
    const heading = document.createElement("h2");
    heading.textContent = title;
    box.append(heading);
    for (const line of lines) {
      const p = document.createElement("p");
      p.textContent = line;
      box.append(p);
    }
    if (signIn) {
      const link = document.createElement("a");
      link.className = "next-step";
      link.href = document.body.dataset.signInUrl;
      link.textContent = "Sign in";
      box.append(link);
    }
    region.replaceChildren(box);
    if (focus) region.focus();
  }

  const clear = (region) => region.replaceChildren();

  /** What to say when the request failed for a reason other than the form's content. */
  function trouble(outcome, linkStillWorks) {
    if (outcome.code === "RATE_LIMITED" || outcome.status === 429) {
      const wait = outcome.retryAfter ? `${outcome.retryAfter} seconds` : "a minute";
      return {
        title: "Too many attempts",
        lines: [`Please wait ${wait} and try again.`],
      };
    }
    if (outcome.code === "NETWORK") {
      return {
        title: "Could not reach the server",
        lines: [
          "Check your internet connection and try again.",
          linkStillWorks ? "Your link has not been used yet." : "",
        ].filter(Boolean),
      };
    }
    if (outcome.status === 503) {
      return {
        title: "The service is briefly unavailable",
        lines: [
          "Please try again in a minute.",
          linkStillWorks ? "Your link still works." : "",
        ].filter(Boolean),
      };
    }
    return {
      title: "Something went wrong",
      lines: [
        "Please try again in a few minutes. If it keeps failing, ask for a new link.",
        outcome.code ? `(Error code: ${outcome.code})` : "",
      ].filter(Boolean),
    };
  }

  function setBusy(form, button, busy, busyText) {
    if (busy) {
      button.dataset.label = button.textContent;
      button.textContent = busyText;
    } else if (button.dataset.label) {
      button.textContent = button.dataset.label;
    }
    button.disabled = busy;
    form.setAttribute("aria-busy", String(busy));
  }

  const noTokenNotice = (what) => ({
    tone: "error",
    title: "This link is incomplete",
    lines: [
      `The address has no token, so we cannot ${what}.`,
      "Open the link from the mail again, or copy the whole link into the address bar.",
    ],
  });

  // ---- /verify-email: one button; the POST happens only on its click ----
  function verifyEmail() {
    const form = byId("verify-form");
    const button = byId("verify-button");
    if (!token) {
      show(result, noTokenNotice("confirm your address"));
      return;
    }
    form.hidden = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      setBusy(form, button, true, "Confirming…");
      clear(result);
      const outcome = await post("/api/users/verification/confirm", { token });
      setBusy(form, button, false);
      if (outcome.ok) {
        form.hidden = true;
        show(result, {
          tone: "success",
          // The server's own words ("Your new email address is confirmed" after a change).
          title: outcome.message || "Your email address is confirmed",
          lines: ["You can now sign in with this email address and your password."],
          focus: true,
          signIn: true,
        });
        return;
      }
      if (outcome.code === "CONFLICT" || outcome.code === "VALIDATION_ERROR") {
        form.hidden = true;
        show(result, {
          tone: "error",
          title: "This link can no longer be used",
          lines: [
            "It is invalid, has already been used, or has expired (confirmation links work once, for 24 hours, and only the newest one works).",
            "If you already confirmed your address, just sign in.",
            "Otherwise sign in and ask for a new confirmation email, or ask your administrator to send one.",
          ],
          focus: true,
          signIn: true,
        });
        return;
      }
      if (outcome.code === "EMAIL_TAKEN") {
        form.hidden = true;
        show(result, {
          tone: "error",
          title: "This address is already in use",
          lines: [
            "Another account now uses this email address, so it cannot be confirmed for yours.",
            "Sign in with your current address and choose a different one.",
          ],
          focus: true,
        });
        return;
      }
      show(result, { tone: "error", ...trouble(outcome, true), focus: true });
    });
  }

  // ---- /accept-invitation and /reset-password: a new password, checked by the server ----
  async function passwordPage({
    path,
    field,
    kind,
    busyText,
    success,
    deadLink,
    invalidLink,
    onInvalidLink,
  }) {
    const form = byId("password-form");
    const button = byId("password-button");
    const input = byId("password");
    const username = byId("username");
    const error = byId("password-error");
    const toggle = byId("show-password");
    const minLength = Number(input.dataset.minLength) || 15;
    const maxLength = Number(input.dataset.maxLength) || 128;

    const setFieldError = (message) => {
      error.textContent = message;
      error.hidden = !message;
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    };

    toggle.addEventListener("change", () => {
      input.type = toggle.checked ? "text" : "password";
    });
    input.addEventListener("input", () => {
      if (!error.hidden) setFieldError("");
    });

    // After a submit the focus moves to the news; when the page opens with it, the news is the
    // first thing there and its live region announces it, so the focus stays put.
    const refuseLink = (notice, focus) => {
      form.hidden = true;
      show(result, { tone: "error", ...notice, focus });
      onInvalidLink?.();
    };

    if (!token) {
      show(result, noTokenNotice("set your password"));
      onInvalidLink?.();
      return;
    }
    // Before anyone types a password: does the link still work, and for which account? When the
    // check itself fails (rate limit, network), the form appears anyway and its submit tells.
    const checked = await post("/api/auth/link-state", { token, kind });
    const { state, email } = checked.ok ? checked.data : {};
    if (Object.hasOwn(deadLink, state)) {
      refuseLink(deadLink[state], false);
      return;
    }
    if (typeof email === "string") {
      username.value = email;
      byId("account-email").textContent = email;
      byId("account").hidden = false;
    }
    form.hidden = false;

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      clear(result);
      const password = input.value;
      // Counted as the server counts: Unicode code points.
      const length = [...password].length;
      if (length === 0) {
        setFieldError("Enter a password.");
        input.focus();
        return;
      }
      if (length < minLength) {
        setFieldError(
          `Use at least ${minLength} characters: this one has ${length}. A few unrelated words make a good password.`,
        );
        input.focus();
        return;
      }
      if (length > maxLength) {
        setFieldError(`Use at most ${maxLength} characters: this one has ${length}.`);
        input.focus();
        return;
      }
      setFieldError("");
      setBusy(form, button, true, busyText);
      const outcome = await post(path, { token, [field]: password });
      setBusy(form, button, false);

      if (outcome.ok) {
        input.value = "";
        form.hidden = true;
        show(result, { tone: "success", ...success, focus: true });
        return;
      }
      if (outcome.code === "WEAK_PASSWORD") {
        // The server's message names the rule; the link still works.
        const reason = outcome.message
          ? outcome.message.replace(/[.!]?\s*$/, ".")
          : "This password is not allowed.";
        setFieldError(`${reason} Please choose another password.`);
        input.focus();
        return;
      }
      if (outcome.code === "VALIDATION_ERROR") {
        const about = outcome.issues.find((issue) => issue.path === field);
        if (about) {
          setFieldError(about.message);
          input.focus();
        } else {
          refuseLink(invalidLink, true);
        }
        return;
      }
      if (outcome.code === "CONFLICT") {
        refuseLink(invalidLink, true);
        return;
      }
      show(result, { tone: "error", ...trouble(outcome, true), focus: true });
    });
  }

  function acceptInvitation() {
    passwordPage({
      path: "/api/users/invitation/accept",
      field: "password",
      kind: "invitation",
      busyText: "Setting your password…",
      success: {
        title: "Your account is ready",
        lines: [
          "Your password is set and your email address is confirmed.",
          "You can now sign in with your email address and this password.",
        ],
        signIn: true,
      },
      deadLink: {
        expired: {
          title: "This invitation link has expired",
          lines: [
            "Invitation links work for 7 days.",
            "Ask the person who invited you to send a new invitation.",
          ],
        },
        used: {
          title: "This invitation link has already been used",
          lines: [
            "Your password was set with it: sign in with your email address and that password.",
          ],
          signIn: true,
        },
        invalid: {
          title: "This invitation link does not work",
          lines: [
            "A newer invitation may have replaced it (only the newest one works), or the link was not copied whole.",
            "Open the newest invitation mail, or ask the person who invited you to send a new one.",
          ],
        },
      },
      invalidLink: {
        title: "This invitation link can no longer be used",
        lines: [
          "It is invalid, has already been used, or has expired (invitation links work once, for 7 days, and only the newest one works).",
          "If you already set your password, just sign in.",
          "Otherwise ask the person who invited you to send a new invitation.",
        ],
        signIn: true,
      },
    });
  }

  function resetPassword() {
    const requestForm = byId("request-form");
    const requestButton = byId("request-button");
    const email = byId("email");
    const emailError = byId("email-error");
    const requestResult = byId("request-result");

    const setEmailError = (message) => {
      emailError.textContent = message;
      emailError.hidden = !message;
      if (message) email.setAttribute("aria-invalid", "true");
      else email.removeAttribute("aria-invalid");
    };

    requestForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (requestButton.disabled) return;
      clear(requestResult);
      const address = email.value.trim();
      if (!address || !email.checkValidity()) {
        setEmailError("Enter your email address, like name@example.com.");
        email.focus();
        return;
      }
      setEmailError("");
      setBusy(requestForm, requestButton, true, "Sending…");
      const outcome = await post("/api/auth/password-reset", { email: address });
      setBusy(requestForm, requestButton, false);
      if (outcome.ok) {
        show(requestResult, {
          tone: "success",
          title: "Check your inbox",
          lines: [
            `If ${address} belongs to an account, a new reset link is on its way. It works for one hour.`,
            "Not there after a few minutes? Look in your spam folder.",
          ],
        });
        return;
      }
      if (outcome.code === "VALIDATION_ERROR") {
        setEmailError("Enter your email address, like name@example.com.");
        email.focus();
        return;
      }
      show(requestResult, { tone: "error", ...trouble(outcome, false) });
    });

    const askBelow = "Ask for a new link below.";
    passwordPage({
      path: "/api/auth/password-reset/confirm",
      field: "newPassword",
      kind: "password_reset",
      busyText: "Changing your password…",
      success: {
        title: "Your password has been changed",
        lines: [
          "For your security you have been signed out on every device.",
          "Sign in with your email address and your new password.",
        ],
        signIn: true,
      },
      deadLink: {
        expired: {
          title: "This reset link has expired",
          lines: ["Reset links work for one hour.", askBelow],
        },
        used: {
          title: "This reset link has already been used",
          lines: [
            "If you changed your password with it, sign in with the new one.",
            "Otherwise ask for a new link below.",
          ],
          signIn: true,
        },
        invalid: {
          title: "This reset link does not work",
          lines: [
            "A newer reset link may have replaced it (only the newest one works), or the link was not copied whole.",
            askBelow,
          ],
        },
      },
      invalidLink: {
        title: "This reset link can no longer be used",
        lines: [
          "It is invalid, has already been used, or has expired (reset links work once, for one hour, and only the newest one works).",
          askBelow,
        ],
      },
      onInvalidLink: () => {
        requestForm.hidden = false;
      },
    });
  }

  // ---- /passkeys: sign in (with a passkey, or a password), then add, list and remove ----
  function passkeys() {
    const signedOut = byId("signed-out");
    const signedIn = byId("signed-in");
    const list = byId("passkey-list");
    const addForm = byId("add-form");
    const addButton = byId("add-button");
    const passwordForm = byId("password-sign-in");
    const passkeyButton = byId("passkey-sign-in");
    // The session lives in this page only: a reload signs out, and no token is ever stored.
    let session;

    const supported =
      window.PublicKeyCredential &&
      typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
      typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";
    const unsupported = {
      tone: "error",
      title: "This browser cannot use passkeys",
      lines: ["Use a current version of Chrome, Edge, Firefox or Safari."],
    };
    const date = (iso) => new Date(iso).toLocaleDateString(undefined, { dateStyle: "medium" });

    /** The browser's own dialog; undefined when the person cancelled or it failed. */
    async function ask(kind, options) {
      try {
        const credential =
          kind === "create"
            ? await navigator.credentials.create({
                publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
              })
            : await navigator.credentials.get({
                publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
              });
        return credential?.toJSON();
      } catch {
        show(result, {
          tone: "error",
          title: "No passkey was used",
          lines: ["The request was cancelled or timed out. Try again when you are ready."],
          focus: true,
        });
        return undefined;
      }
    }

    async function render() {
      const outcome = await call("GET", "/api/users/me/passkeys", undefined, session.accessToken);
      if (!outcome.ok) {
        show(result, { tone: "error", ...trouble(outcome, false) });
        return;
      }
      const items = outcome.data.passkeys.map((passkey) => {
        const item = document.createElement("li");
        item.className = "passkey";
        const text = document.createElement("span");
        const name = document.createElement("strong");
        name.textContent = passkey.name;
        const when = document.createElement("span");
        when.className = "hint";
        when.textContent = `Added ${date(passkey.createdAt)}${
          passkey.lastUsedAt ? ` · last used ${date(passkey.lastUsedAt)}` : " · never used"
        }`;
        text.append(name, when);
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", `Remove ${passkey.name}`);
        remove.addEventListener("click", async () => {
          remove.disabled = true;
          const path = `/api/users/me/passkeys/${passkey.id}`;
          const gone = await call("DELETE", path, undefined, session.accessToken);
          show(
            result,
            gone.ok
              ? { tone: "success", title: `${passkey.name} was removed`, lines: [] }
              : { tone: "error", ...trouble(gone, false) },
          );
          await render();
        });
        item.append(text, remove);
        return item;
      });
      list.replaceChildren(...items);
      byId("no-passkeys").hidden = items.length > 0;
    }

    async function start(tokens) {
      session = tokens;
      const me = await call("GET", "/api/users/me", undefined, session.accessToken);
      byId("account-email").textContent = me.ok ? me.data.email : "";
      signedOut.hidden = true;
      signedIn.hidden = false;
      await render();
    }

    passkeyButton.addEventListener("click", async () => {
      clear(result);
      if (!supported) return show(result, unsupported);
      const options = await post("/api/auth/passkey/options", {});
      if (!options.ok) return show(result, { tone: "error", ...trouble(options, false) });
      const webauthn = await ask("get", options.data);
      if (!webauthn) return;
      const outcome = await post("/api/auth/passkey/token", { webauthn });
      if (outcome.ok) return start(outcome.data);
      if (outcome.code === "INVALID_CREDENTIALS") {
        return show(result, {
          tone: "error",
          title: "This passkey was not accepted",
          lines: ["It may have been removed from your account. Sign in with your password."],
          focus: true,
        });
      }
      show(result, { tone: "error", ...trouble(outcome, false), focus: true });
    });

    /**
     * The password was right and the account has a second factor: this page answers the
     * challenge with one of the account's passkeys (codes are for apps that take them).
     */
    async function secondStep({ challenge, factors }) {
      if (!factors.includes("passkey")) {
        return show(result, {
          tone: "error",
          title: "This account signs in with a code",
          lines: ["This page takes a passkey as the second step; use an app that takes codes."],
          focus: true,
        });
      }
      if (!supported) return show(result, unsupported);
      const path = "/api/auth/token/second-factor/passkey-options";
      const options = await post(path, { challenge });
      if (!options.ok) return show(result, { tone: "error", ...trouble(options, false) });
      const webauthn = await ask("get", options.data);
      if (!webauthn) return;
      const outcome = await post("/api/auth/token/second-factor", {
        challenge,
        factor: "passkey",
        webauthn,
      });
      if (outcome.ok) {
        byId("password").value = "";
        return start(outcome.data);
      }
      show(result, {
        tone: "error",
        title: "This passkey was not accepted",
        lines: ["Sign in with your password again, then use a passkey of this account."],
        focus: true,
      });
    }

    passwordForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(result);
      const button = byId("password-button");
      setBusy(passwordForm, button, true, "Signing in…");
      const outcome = await post("/api/auth/token", {
        email: byId("email").value.trim(),
        password: byId("password").value,
      });
      setBusy(passwordForm, button, false);
      if (outcome.ok && outcome.data.secondFactorRequired) return secondStep(outcome.data);
      if (outcome.ok) {
        byId("password").value = "";
        return start(outcome.data);
      }
      if (outcome.code === "INVALID_CREDENTIALS" || outcome.code === "VALIDATION_ERROR") {
        return show(result, {
          tone: "error",
          title: "The email or password is incorrect",
          lines: ["Check both and try again."],
          focus: true,
        });
      }
      show(result, { tone: "error", ...trouble(outcome, false), focus: true });
    });

    addForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (addButton.disabled) return;
      clear(result);
      if (!supported) return show(result, unsupported);
      setBusy(addForm, addButton, true, "Waiting for your passkey…");
      const path = "/api/users/me/passkeys/registration-options";
      const options = await call("POST", path, {}, session.accessToken);
      const webauthn = options.ok ? await ask("create", options.data) : undefined;
      const name = byId("passkey-name").value.trim() || "Passkey";
      const outcome = webauthn
        ? await call("POST", "/api/users/me/passkeys", { name, webauthn }, session.accessToken)
        : options;
      setBusy(addForm, addButton, false);
      if (!webauthn && options.ok) return;
      if (outcome.ok) {
        byId("passkey-name").value = "";
        show(result, { tone: "success", title: `${name} was added`, lines: [] });
        return render();
      }
      const title =
        outcome.code === "CONFLICT" ? outcome.message : "This passkey could not be added";
      show(result, { tone: "error", title, lines: ["Nothing was changed."], focus: true });
    });

    byId("sign-out").addEventListener("click", async () => {
      await post("/api/auth/logout", { refreshToken: session.refreshToken });
      session = undefined;
      list.replaceChildren();
      byId("account-email").textContent = "";
      signedIn.hidden = true;
      signedOut.hidden = false;
      show(result, { tone: "success", title: "You are signed out", lines: [] });
    });

    signedOut.hidden = false;
  }

  if (page === "verify-email") verifyEmail();
  else if (page === "accept-invitation") acceptInvitation();
  else if (page === "reset-password") resetPassword();
  else if (page === "passkeys") passkeys();
})();
