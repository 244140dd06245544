// Keyboard-first behaviour of the call log. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // Ctrl+Enter (or Cmd+Enter) saves the form the focus is in.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target.closest && event.target.closest("form[data-ctrl-enter]");
    if (!form) return;
    event.preventDefault();
    form.requestSubmit();
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
    var started = Date.now();
    var tick = function () {
      var seconds = Math.floor((Date.now() - started) / 1000);
      var minutes = Math.floor(seconds / 60);
      var rest = seconds % 60;
      output.textContent = minutes + ":" + (rest < 10 ? "0" : "") + rest;
    };
    var handle = window.setInterval(tick, 1000);
    var form = document.querySelector("form[data-timer-form]");
    if (form) {
      form.addEventListener("submit", function () {
        window.clearInterval(handle);
        tick();
      });
    }
  }

  // Picking a caller from the lookup panel fills the hidden caller field and the name.
  function pickCaller(id, name) {
    var field = document.getElementById("id_caller");
    var nameField = document.getElementById("id_caller_name");
    if (!field) return;
    field.value = id;
    if (nameField && name) nameField.value = name;
    document.querySelectorAll("[data-pick-caller]").forEach(function (button) {
      var picked = button.getAttribute("data-pick-caller") === String(id);
      button.textContent = picked ? "Selected \u2713" : "Use this caller";
      button.classList.toggle("btn-primary", picked);
      button.classList.toggle("btn-outline-primary", !picked);
    });
    callerChanged(field.value);
  }

  // Tell the open-callback notice which caller is chosen (it asks the server again).
  var lastCaller = null;
  function callerChanged(value) {
    if (value === lastCaller) return;
    lastCaller = value;
    document.body.dispatchEvent(new CustomEvent("caller-picked"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-pick-caller]");
    if (!button) return;
    var id = button.getAttribute("data-pick-caller");
    var field = document.getElementById("id_caller");
    if (field && field.value === id) {
      // A second click undoes the choice: the call goes to a new caller.
      field.value = "";
      button.textContent = "Use this caller";
      button.classList.add("btn-outline-primary");
      button.classList.remove("btn-primary");
      callerChanged("");
      return;
    }
    pickCaller(id, button.getAttribute("data-caller-name"));
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "caller-lookup") return;
    var field = document.getElementById("id_caller");
    if (!field) return;
    var cards = event.detail.target.querySelectorAll("[data-caller-card]");
    var ids = Array.prototype.map.call(cards, function (card) {
      return card.getAttribute("data-caller-card");
    });
    // A chosen caller who no longer matches what is typed is no longer chosen.
    if (field.value && ids.indexOf(field.value) === -1) {
      field.value = "";
      callerChanged("");
    }
    var auto = event.detail.target.querySelector("[data-autoselect]");
    var nameField = document.getElementById("id_caller_name");
    var typedName = nameField ? nameField.value.trim().toLowerCase() : "";
    var autoName = auto ? (auto.getAttribute("data-caller-name") || "").toLowerCase() : "";
    if (!field.value && auto && (!typedName || typedName === autoName)) {
      pickCaller(auto.getAttribute("data-autoselect"), auto.getAttribute("data-caller-name"));
    } else if (field.value) {
      pickCaller(field.value, null);
    }
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
      flag.checked = true;
      flag.setAttribute("aria-readonly", "true");
    } else {
      flag.removeAttribute("aria-readonly");
      if (event && event.target && event.target.name === "mood" && moodValue === "angry") {
        flag.checked = true;
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
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    update(null);
  });
})();

// The callback promise on the call form: ticking "Call back" shows when it is due (from the
// policy for the nature and urgency) and the words to say; both can be changed by hand.
// A caller with an open callback can have this call added to it instead.
(function () {
  "use strict";
  function section() {
    return document.querySelector("[data-callback-section]");
  }
  function byId(id) {
    return document.getElementById(id);
  }
  function checkedValue(name) {
    var input = document.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function refreshPromise(useTypedDue) {
    var box = section();
    var due = byId("id_callback_due_at");
    var promise = byId("id_callback_promise");
    if (!box || !due || !byId("id_callback").checked) return;
    var params = new URLSearchParams({ nature: checkedValue("nature"), urgency: checkedValue("urgency") });
    if (useTypedDue || due.dataset.edited) {
      if (!due.value) return;
      params.set("due", due.value);
    }
    fetch(box.getAttribute("data-promise-url") + "?" + params.toString(), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        if (!due.dataset.edited) due.value = data.due_at;
        if (!promise.dataset.edited) promise.value = data.promise;
      });
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
        refreshPromise(false);
      }
    } else if (target.name === "nature" || target.name === "urgency") {
      refreshPromise(false);
    } else if (target.id === "id_outcome" && target.value === "callback_scheduled") {
      var box = byId("id_callback");
      var attach = byId("id_attach_to");
      if (box && !box.checked && !(attach && attach.value)) {
        box.checked = true;
        showFields(true);
        refreshPromise(false);
      }
    } else if (target.id === "id_callback_due_at") {
      target.dataset.edited = "1";
      refreshPromise(true);
    }
  });
  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "id_callback_promise") {
      event.target.dataset.edited = "1";
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
    if (box && box.checked) {
      showFields(true);
      var due = byId("id_callback_due_at");
      if (due && due.value) due.dataset.edited = "1";
      var promise = byId("id_callback_promise");
      if (promise && promise.value) promise.dataset.edited = "1";
    }
  });
})();
