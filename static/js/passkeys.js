// Passkeys (WebAuthn) for Webmin: adding one in /settings/security and
// signing in with one on /login. Every other page works without this
// script; the buttons it drives stay hidden where the browser has no
// WebAuthn. The server answers the options and checks the results
// (handlers/passkeys.go); this only carries bytes between it and the
// browser's authenticator, as base64url.
(function () {
  "use strict";
  if (!window.PublicKeyCredential) return;

  function toBytes(b64url) {
    var s = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: new URLSearchParams(fields).toString()
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) throw new Error(body.error || "The server refused it (" + res.status + ").");
        return body;
      });
    });
  }
  // go loads the page the server named (a reload when only the #part differs).
  function go(to) {
    var a = document.createElement("a");
    a.href = to;
    if (a.pathname === location.pathname && a.search === location.search) {
      location.hash = a.hash;
      location.reload();
    } else {
      location.assign(to);
    }
  }
  function showError(box, err) {
    if (!box) return;
    box.textContent = err && err.name === "NotAllowedError" ? "Cancelled, or no passkey was chosen." : String(err && err.message || err);
    box.hidden = false;
  }

  // Adding a passkey: /settings/security.
  var add = document.querySelector("[data-passkey-add]");
  if (add) {
    add.hidden = false;
    var button = add.querySelector("#passkey-add"), nameInput = add.querySelector("#f-passkey-name");
    var addError = add.querySelector("[data-passkey-error]");
    button.addEventListener("click", function () {
      var csrf = button.getAttribute("data-csrf");
      button.disabled = true;
      addError.hidden = true;
      post("/settings/security/passkeys/options", { _csrf: csrf }).then(function (opts) {
        var pk = opts.publicKey;
        pk.challenge = toBytes(pk.challenge);
        pk.user.id = toBytes(pk.user.id);
        (pk.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
        return navigator.credentials.create({ publicKey: pk });
      }).then(function (cred) {
        var body = {
          id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
          response: {
            attestationObject: toB64url(cred.response.attestationObject),
            clientDataJSON: toB64url(cred.response.clientDataJSON),
            transports: cred.response.getTransports ? cred.response.getTransports() : []
          },
          clientExtensionResults: cred.getClientExtensionResults()
        };
        return post("/settings/security/passkeys", { _csrf: csrf, name: nameInput.value, credential: JSON.stringify(body) });
      }).then(function (done) {
        go(done.redirect || "/settings/security");
      }).catch(function (err) {
        button.disabled = false;
        showError(addError, err);
      });
    });
  }

  // Signing in with a passkey: /login.
  var login = document.querySelector("[data-passkey-login]");
  if (login) {
    login.hidden = false;
    var signIn = login.querySelector("#passkey-login"), loginError = login.querySelector("[data-passkey-error]");
    signIn.addEventListener("click", function () {
      var csrf = signIn.getAttribute("data-csrf"), next = signIn.getAttribute("data-next") || "";
      signIn.disabled = true;
      loginError.hidden = true;
      post("/login/passkey/options", { _csrf: csrf }).then(function (opts) {
        var pk = opts.publicKey;
        pk.challenge = toBytes(pk.challenge);
        (pk.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
        return navigator.credentials.get({ publicKey: pk });
      }).then(function (cred) {
        var body = {
          id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
          response: {
            authenticatorData: toB64url(cred.response.authenticatorData),
            clientDataJSON: toB64url(cred.response.clientDataJSON),
            signature: toB64url(cred.response.signature),
            userHandle: cred.response.userHandle ? toB64url(cred.response.userHandle) : ""
          },
          clientExtensionResults: cred.getClientExtensionResults()
        };
        return post("/login/passkey", { _csrf: csrf, next: next, credential: JSON.stringify(body) });
      }).then(function (done) {
        go(done.redirect || "/dashboard");
      }).catch(function (err) {
        signIn.disabled = false;
        showError(loginError, err);
      });
    });
  }
})();
