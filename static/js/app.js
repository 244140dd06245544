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
    if (field.value && ids.indexOf(field.value) === -1) field.value = "";
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
