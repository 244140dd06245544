// Keyboard-first behaviour of the call log. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // Ctrl+Enter (or Cmd+Enter) saves the form the focus is in, or the page's one such form
  // when the focus is on nothing (after the lookup panel replaced the focused button). The
  // form is novalidate: it always goes to the server, which saves it or sends it back with
  // the reason on the field and the cursor in that field.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target.closest && event.target.closest("form[data-ctrl-enter]");
    if (!form && !event.target.closest("form")) {
      var forms = document.querySelectorAll("form[data-ctrl-enter]");
      if (forms.length === 1) form = forms[0];
    }
    if (!form) return;
    event.preventDefault();
    form.requestSubmit();
  });

  // "/" goes to the navigation's search box from any page, unless one is typing.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    var box = document.getElementById("nav-search");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // The call log's export takes the filters as they are now (htmx changed them in place).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-export]");
    var form = link && link.closest("form");
    if (!form) return;
    var query = new URLSearchParams(new FormData(form)).toString();
    link.href = link.href.split("?")[0] + "?" + query;
  });

  // The business picker of an answering service's call form shows that business's
  // greeting and instructions (the server drew one panel per active business).
  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("[data-business-picker]")) return;
    document.querySelectorAll("[data-business-panel]").forEach(function (panel) {
      panel.classList.toggle("d-none", panel.dataset.businessPanel !== event.target.value);
    });
  });

  // One key picks a button in a radio group that has the focus ("s" for Sales, ...).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) return;
    var group = event.target.closest && event.target.closest("[data-key-radio]");
    if (!group) return;
    var key = event.key.toLowerCase();
    var radio = group.querySelector('input[type="radio"][data-key="' + key + '"]');
    if (!radio) return;
    event.preventDefault();
    radio.checked = true;
    radio.focus();
    radio.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // The call timer runs from the moment the form opens until it is saved.
  function startTimer() {
    var output = document.querySelector("[data-timer]");
    if (!output) return;
    // A form sent back with an error goes on timing the same call (seconds since it began,
    // as the server counts them: no clock of this computer is compared with the server's).
    var started = Date.now() - 1000 * (Number(output.getAttribute("data-elapsed")) || 0);
    var tick = function () {
      var seconds = Math.floor((Date.now() - started) / 1000);
      var minutes = Math.floor(seconds / 60);
      var rest = seconds % 60;
      output.textContent = minutes + ":" + (rest < 10 ? "0" : "") + rest;
    };
    tick();
    var handle = window.setInterval(tick, 1000);
    var form = document.querySelector("form[data-timer-form]");
    if (form) {
      form.addEventListener("submit", function () {
        window.clearInterval(handle);
        tick();
      });
    }
  }

  // The server decides who is on the phone (the lookup panel sets the hidden caller field
  // itself); this only shows the chosen caller's name in the name field when it differs.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "caller-lookup") return;
    var chosen = event.detail.target.querySelector("[data-chosen]");
    var nameField = document.getElementById("id_caller_name");
    if (!chosen || !nameField) return;
    var name = chosen.getAttribute("data-caller-name") || "";
    if (nameField.value.trim().toLowerCase() !== name.toLowerCase()) nameField.value = name;
    // "Use this caller" was replaced by the answer: keep the keyboard in the form.
    if (document.activeElement === document.body) {
      var nature = document.querySelector('input[name="nature"]:checked');
      if (nature) nature.focus();
    }
  });

  // "Number withheld": the number field is set aside (kept, not sent) until it is unticked.
  // A capture listener, so the lookup panel asks after the field is set aside.
  function withheld(box, moveFocus) {
    var phone = document.getElementById("id_phone");
    if (!phone) return;
    phone.disabled = box.checked;
    phone.setAttribute("placeholder", box.checked ? "Withheld" : phone.dataset.placeholder);
    if (box.checked && moveFocus) {
      var name = document.getElementById("id_caller_name");
      if (name) name.focus();
    } else if (!box.checked && moveFocus) {
      phone.focus();
    }
  }
  document.addEventListener(
    "change",
    function (event) {
      if (event.target && event.target.id === "id_number_withheld") withheld(event.target, true);
    },
    true
  );
  // Alt+W ticks or unticks it from anywhere on the form (a script, not an accesskey: those
  // take other modifier keys in other browsers).
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.code !== "KeyW") return;
    var box = document.getElementById("id_number_withheld");
    if (!box) return;
    event.preventDefault();
    box.click();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("id_number_withheld");
    var phone = document.getElementById("id_phone");
    if (!box || !phone) return;
    phone.dataset.placeholder = phone.getAttribute("placeholder") || "";
    if (box.checked) withheld(box, document.activeElement === phone);
  });

  document.addEventListener("DOMContentLoaded", startTimer);
})();

// Choosing mood "angry" or "abusive" shows the playbook; "angry" flags a manager by
// default, abuse (mood or outcome) always does (the server enforces that too).
(function () {
  "use strict";
  function update(event) {
    var form = document.querySelector("form[data-call-form]");
    var playbook = form && form.querySelector("[data-playbook]");
    if (!playbook) return;
    var mood = form.querySelector('input[name="mood"]:checked');
    var outcome = form.querySelector('select[name="outcome"]');
    var flag = form.querySelector('input[name="escalate"]');
    var moodValue = mood ? mood.value : "";
    var abuse = moodValue === "abusive" || (outcome && outcome.value === "terminated_abusive");
    var difficult = abuse || moodValue === "angry";
    playbook.classList.toggle("d-none", !difficult);
    if (!flag) return;
    if (abuse) {
      if (!flag.checked) flag.dataset.ticked = "auto";
      flag.checked = true;
      flag.setAttribute("aria-readonly", "true");
    } else {
      flag.removeAttribute("aria-readonly");
      if (event && event.target && event.target.name === "mood" && moodValue === "angry") {
        if (!flag.checked) flag.dataset.ticked = "auto";
        flag.checked = true;
      } else if (!difficult && flag.dataset.ticked === "auto") {
        // A mood picked by mistake and corrected: the flag it ticked goes with it.
        flag.checked = false;
        delete flag.dataset.ticked;
      }
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target && (event.target.name === "mood" || event.target.name === "outcome")) {
      update(event);
    }
  });
  document.addEventListener("click", function (event) {
    // A flag that abuse requires cannot be unticked.
    var flag = event.target;
    if (flag && flag.name === "escalate" && flag.getAttribute("aria-readonly") === "true") {
      event.preventDefault();
    } else if (flag && flag.name === "escalate") {
      delete flag.dataset.ticked; // ticked or unticked by hand: the script leaves it be
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    update(null);
  });
})();

// The callback promise on the call form: ticking "Call back" shows its fields; the server's
// promise preview fills in the due time and the words (followups.views.promise_preview).
// A caller with an open callback can have this call added to it instead.
(function () {
  "use strict";
  function section() {
    return document.querySelector("[data-callback-section]");
  }
  function byId(id) {
    return document.getElementById(id);
  }
  function showFields(on) {
    var fields = document.querySelector("[data-callback-fields]");
    if (fields) fields.classList.toggle("d-none", !on);
  }

  function setAttach(id) {
    var attach = byId("id_attach_to");
    if (!attach) return;
    attach.value = id || "";
    document.querySelectorAll("[data-attach-callback]").forEach(function (button) {
      var on = button.getAttribute("data-attach-callback") === attach.value;
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.classList.toggle("btn-warning", on);
      button.classList.toggle("btn-outline-dark", !on);
      button.textContent = on
        ? "This call will be added to it \u2713"
        : "Add this call to it instead of a new callback";
    });
    if (id) {
      var box = byId("id_callback");
      if (box) box.checked = false;
      showFields(false);
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || !section()) return;
    if (target.id === "id_callback") {
      showFields(target.checked);
      var outcome = byId("id_outcome");
      if (target.checked) {
        setAttach("");
        if (outcome && outcome.value === "resolved") outcome.value = "callback_scheduled";
      }
    } else if (target.id === "id_outcome" && target.value === "callback_scheduled") {
      var box = byId("id_callback");
      var attach = byId("id_attach_to");
      if (box && !box.checked && !(attach && attach.value)) {
        box.checked = true;
        showFields(true);
        // Ask the promise preview, as ticking the box by hand does.
        box.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  });

  // Words typed while a preview was on its way are kept: its answer was made from the
  // words as they were when it was asked (still the preview's own), not as they are now.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "callback-promise-box") return;
    var field = byId("id_callback_promise");
    var shown = byId("id_callback_words_shown");
    if (field && field.value && (!shown || field.value !== shown.value)) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-attach-callback]");
    if (!button) return;
    var id = button.getAttribute("data-attach-callback");
    var attach = byId("id_attach_to");
    var on = attach && attach.value !== id;
    setAttach(on ? id : "");
    var caller = byId("id_caller");
    if (on && caller && caller.value !== button.getAttribute("data-caller")) {
      var pick = document.querySelector(
        '[data-pick-caller="' + button.getAttribute("data-caller") + '"]'
      );
      if (pick) pick.click();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "open-callbacks") return;
    var attach = byId("id_attach_to");
    if (!attach || !attach.value) return;
    var still = event.detail.target.querySelector(
      '[data-attach-callback="' + attach.value + '"]'
    );
    setAttach(still ? attach.value : "");
  });

  document.addEventListener("DOMContentLoaded", function () {
    var box = byId("id_callback");
    if (box && box.checked) showFields(true);
  });
})();

// The call log's "Caller" box: typing a new name or number lets go of the caller picked.
document.addEventListener("input", function (event) {
  if (!event.target || event.target.id !== "id_who") return;
  var chosen = document.getElementById("id_caller");
  if (chosen) chosen.value = "";
});

// The call log's filter bar. A search box losing the focus fires "change": the form would
// fetch the first page again and wipe the older rows being loaded by that very click. Its
// typing already asks (htmx "input" trigger), so its change stops here.
document.addEventListener(
  "change",
  function (event) {
    var field = event.target;
    if (!field || !field.closest || !field.closest("form.call-filters")) return;
    if (field.id === "id_q" || field.id === "id_who") event.stopPropagation();
  },
  true
);

// Today / Yesterday / This week set the two dates and keep everything else typed or
// chosen since the page loaded (the links alone only know what the page loaded with).
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("[data-date-shortcut]");
  if (!link) return;
  var form = link.closest("form");
  var from = document.getElementById("id_date_from");
  var to = document.getElementById("id_date_to");
  if (!form || !from || !to) return;
  event.preventDefault();
  from.value = link.getAttribute("data-from");
  to.value = link.getAttribute("data-to");
  form.querySelectorAll("[data-date-shortcut]").forEach(function (other) {
    var on = other === link;
    other.classList.toggle("active", on);
    if (on) other.setAttribute("aria-current", "true");
    else other.removeAttribute("aria-current");
  });
  from.dispatchEvent(new Event("change", { bubbles: true }));
});

// Shared front-desk computers (receptionist/idle.py): after a while with nothing done the
// session ends. A minute before, the page warns; at the limit it keeps what was typed in
// this tab's sessionStorage, logs out and goes to the login page, which brings the person
// back here with the text restored. Activity in any tab of the call log counts (the last
// moment is shared through localStorage); the badges and queues that refresh themselves
// are not activity (X-Poll).
(function () {
  "use strict";
  var DRAFTS = "calllog.drafts";
  var ACTIVITY = "calllog.activity";
  var marker = document.querySelector("[data-idle]");
  var here = location.pathname + location.search;

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-poll")) {
      event.detail.headers["X-Poll"] = "1";
    }
  });

  // The forms people type in (the ones Ctrl+Enter saves), their fields as typed.
  function typingForms() {
    return document.querySelectorAll("form[data-ctrl-enter]");
  }
  function changed(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") {
      return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return el.type !== "hidden" && el.value !== el.defaultValue;
  }
  function keepDrafts() {
    var forms = {};
    var any = false;
    typingForms().forEach(function (form, index) {
      var fields = [];
      var typed = false;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.disabled || el.name === "csrfmiddlewaretoken") return;
        if (el.type === "password" || el.type === "file" || el.type === "submit") return;
        // Secrets are typed again, never kept (a webhook's signing secret).
        if (/password|passwd|secret|token/i.test(el.name)) return;
        if (el.tagName === "BUTTON") return;
        typed = typed || changed(el);
        if (el.type === "checkbox" || el.type === "radio") fields.push([el.name, el.value, el.checked]);
        else fields.push([el.name, el.value]);
      });
      if (typed) {
        forms[index] = fields;
        any = true;
      }
    });
    if (!any) return;
    try {
      sessionStorage.setItem(DRAFTS, JSON.stringify({
        user: marker.getAttribute("data-idle-user"), path: here, at: Date.now(), forms: forms
      }));
    } catch (e) { /* storage full or refused: nothing more to do */ }
  }
  function restoreDrafts() {
    var saved;
    try { saved = JSON.parse(sessionStorage.getItem(DRAFTS) || "null"); } catch (e) { saved = null; }
    if (!saved) return;
    // Kept for an hour at most, readable by nobody after that (nor by anyone else who
    // logs in at this computer: it is removed whoever logs in, and restored only for
    // the person who typed it, on the page they typed it in).
    var stale = Date.now() - saved.at > 3600 * 1000;
    if (stale) sessionStorage.removeItem(DRAFTS);
    if (stale || !marker) return;
    sessionStorage.removeItem(DRAFTS);
    if (saved.user !== marker.getAttribute("data-idle-user") || saved.path !== here) return;
    var forms = typingForms();
    var first = null;
    Object.keys(saved.forms).forEach(function (index) {
      var form = forms[Number(index)];
      if (!form) return;
      saved.forms[index].forEach(function (field) {
        form.querySelectorAll('[name="' + CSS.escape(field[0]) + '"]').forEach(function (el) {
          if (el.type === "checkbox" || el.type === "radio") {
            if (el.value === field[1]) el.checked = field[2];
          } else {
            el.value = field[1];
          }
        });
      });
      if (!first) first = form;
      // A restored choice redraws what depends on it (the call form's business panel).
      form.querySelectorAll("select").forEach(function (select) {
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
    if (!first) return;
    var notice = document.createElement("div");
    notice.className = "alert alert-warning";
    notice.setAttribute("role", "status");
    notice.setAttribute("data-draft-restored", "");
    notice.textContent = "Restored what you were typing when you were logged out. It is not saved yet: check it, then save.";
    first.parentNode.insertBefore(notice, first);
  }
  restoreDrafts();
  // Whatever htmx kept of earlier pages (before its cache was turned off) goes at logout.
  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches("form[data-logout]")) {
      sessionStorage.removeItem("htmx-history-cache");
      sessionStorage.removeItem(DRAFTS);
    }
  });
  if (!marker) return;

  var leaving = false;
  var login = marker.getAttribute("data-idle-login");
  // To the login page, which says why and brings the person back to this page (not to
  // the fragment an htmx request asked for), with what they were typing kept.
  function goToLogin(reason) {
    leaving = true;
    keepDrafts();
    location.assign(login + "?next=" + encodeURIComponent(here) + "&" + reason + "=1");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (leaving) event.preventDefault();
  });
  // The session ended while the page was open (idle, logged out elsewhere, a password
  // changed): a badge's poll answers 286, any other request is sent to the login page.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    if (leaving) {
      event.preventDefault();
      return;
    }
    var ended = xhr.status === 286 && xhr.getResponseHeader("X-Session-Ended");
    var redirect = xhr.getResponseHeader("HX-Redirect") || "";
    if (ended) {
      event.preventDefault();
      goToLogin(ended === "idle" ? "idle" : "ended");
    } else if (redirect.indexOf(login) === 0) {
      event.preventDefault();
      goToLogin(redirect.indexOf("idle=1") >= 0 ? "idle" : "ended");
    }
  });

  var idle = 1000 * Number(marker.getAttribute("data-idle"));
  if (!idle) return;
  var ping = 1000 * Number(marker.getAttribute("data-idle-ping"));
  var warnFrom = idle - Math.min(60000, idle / 3);
  var lastHere = Date.now();
  var lastPing = lastHere;
  var warning = null;

  function lastActivity() {
    var shared = 0;
    try { shared = Number(localStorage.getItem(ACTIVITY)) || 0; } catch (e) { shared = 0; }
    return Math.max(lastHere, shared);
  }
  function active() {
    var now = Date.now();
    if (now - lastHere < 1000) return;
    lastHere = now;
    try { localStorage.setItem(ACTIVITY, String(now)); } catch (e) { /* private mode */ }
    if (now - lastPing >= ping) {
      lastPing = now;
      fetch(marker.getAttribute("data-idle-alive"), { credentials: "same-origin" });
    }
    check();
  }
  ["keydown", "mousedown", "pointermove", "wheel", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, active, { capture: true, passive: true });
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    // A request the person asked for is activity the server has just seen.
    if (!event.detail.elt.hasAttribute("data-poll")) lastPing = Date.now();
  });

  function warn(seconds) {
    if (!warning) {
      warning = document.createElement("div");
      warning.className = "alert alert-warning shadow position-fixed bottom-0 end-0 m-3 z-3";
      warning.setAttribute("role", "alert");
      warning.setAttribute("data-idle-warning", "");
      document.body.appendChild(warning);
    }
    warning.textContent = "Nothing has been done on this computer for a while: you will be logged out in " +
      seconds + " s. Press a key or move the mouse to stay logged in. What you are typing is kept either way.";
  }
  function check() {
    if (leaving) return;
    var quiet = Date.now() - lastActivity();
    if (quiet >= idle) {
      logOut();
    } else if (quiet >= warnFrom) {
      warn(Math.ceil((idle - quiet) / 1000));
    } else if (warning) {
      warning.remove();
      warning = null;
    }
  }
  function logOut() {
    leaving = true;
    var form = document.querySelector("form[data-logout]");
    var token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    fetch(form.action, {
      method: "POST", credentials: "same-origin", redirect: "manual",
      body: new URLSearchParams({ csrfmiddlewaretoken: token })
    }).finally(function () { goToLogin("idle"); });
  }
  window.setInterval(check, 1000);
})();
