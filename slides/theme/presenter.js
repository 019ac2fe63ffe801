// Presenter view for the deck.
//
// Speaker notes are written as <details class="notes"> (verify lints that). The CSS
// hides them, so a learner reading the book never sees them, even without
// JavaScript. An instructor shows them with a key:
//
//   N  presenter mode on/off in this browser: every note is shown, open. Kept in
//      localStorage, so it survives reloads and page changes (and updates other
//      tabs of the deck at once).
//   P  opens a speaker window: the same page with every note shown, which follows
//      the window that opened it (and the other way round). Drag it to your own
//      screen and project the first window: the room sees no notes.
//
// Keys do nothing while typing in the search box (or any field), or with Ctrl, Alt
// or Meta held. Other <details> (exercise hints, spoilers) are left alone.
(function presenter() {
  "use strict";

  const STORE_KEY = "slides-presenter";
  // sessionStorage marks a tab as part of a speaker pair; it survives navigation.
  const SPEAKER_KEY = "slides-speaker-window";
  const AUDIENCE_KEY = "slides-audience-window";
  const CHANNEL = "slides-presenter";
  const html = document.documentElement;

  function stored(storage, key) {
    try {
      return storage.getItem(key) === "on";
    } catch (e) {
      return false;
    }
  }

  function store(storage, key, on) {
    try {
      if (on) storage.setItem(key, "on");
      else storage.removeItem(key);
    } catch (e) {
      // Storage may be disabled (private mode): the mode then lasts for this page.
    }
  }

  // A speaker window is opened with ?presenter; it stays one while it navigates.
  if (new URLSearchParams(location.search).has("presenter")) {
    store(sessionStorage, SPEAKER_KEY, true);
    store(sessionStorage, AUDIENCE_KEY, false);
  }
  const speakerWindow = stored(sessionStorage, SPEAKER_KEY);
  let sessionOnly = false; // the mode when storage is unavailable

  function presenterOn() {
    return speakerWindow || stored(localStorage, STORE_KEY) || sessionOnly;
  }

  let badge = null;
  function showBadge(on) {
    if (!on) {
      if (badge) badge.remove();
      badge = null;
      return;
    }
    if (!badge) {
      badge = document.createElement("div");
      badge.id = "presenter-badge";
      badge.setAttribute("role", "status");
      document.body.appendChild(badge);
    }
    badge.textContent = speakerWindow
      ? "speaker window · notes shown"
      : "presenter mode · N hides the notes";
  }

  function apply() {
    const on = presenterOn();
    html.classList.toggle("presenter", on);
    if (on) {
      // Notes open by themselves: the instructor reads, not clicks.
      for (const note of document.querySelectorAll("details.notes")) note.open = true;
    }
    showBadge(on);
  }

  function toggle() {
    const on = !stored(localStorage, STORE_KEY) && !sessionOnly;
    store(localStorage, STORE_KEY, on);
    sessionOnly = on && !stored(localStorage, STORE_KEY);
    apply();
  }

  // The speaker pair: the window that pressed P and the window it opened follow
  // each other's page. Other tabs of the deck are not part of it.
  let channel = null;
  try {
    channel = new BroadcastChannel(CHANNEL);
  } catch (e) {
    channel = null;
  }
  function inPair() {
    return speakerWindow || stored(sessionStorage, AUDIENCE_KEY);
  }
  function here() {
    return location.pathname;
  }
  function announce() {
    if (channel && inPair()) channel.postMessage({ at: here(), speaker: speakerWindow });
  }
  if (channel) {
    channel.onmessage = (event) => {
      const message = event.data || {};
      if (!inPair() || typeof message.at !== "string" || message.speaker === speakerWindow) {
        return;
      }
      if (message.at !== here()) {
        location.assign(message.at + (speakerWindow ? "?presenter" : ""));
      }
    };
  }

  function openSpeakerWindow() {
    store(sessionStorage, AUDIENCE_KEY, true);
    const url = here() + "?presenter";
    const speaker = window.open(url, "slides-speaker", "popup,width=900,height=700");
    if (speaker) speaker.focus();
  }

  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    return (
      target.isContentEditable ||
      target.closest("input, textarea, select, [contenteditable]") !== null
    );
  }

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || e.repeat) return;
    if (typing(e.target) || typing(document.activeElement)) return;
    if (e.key === "n" || e.key === "N") {
      e.preventDefault();
      toggle();
    } else if (e.key === "p" || e.key === "P") {
      e.preventDefault();
      openSpeakerWindow();
    }
  });

  // Another tab pressed N: follow it.
  window.addEventListener("storage", (e) => {
    if (e.key === STORE_KEY || e.key === null) apply();
  });

  // mdBook's "?" help lists the keyboard shortcuts: add ours.
  const help = document.querySelector("#mdbook-help-popup > div");
  if (help) {
    for (const [key, what] of [
      ["N", "to show or hide the speaker notes (presenter mode)"],
      ["P", "to open a speaker window that follows this one"],
    ]) {
      const line = document.createElement("p");
      line.innerHTML = `Press <kbd>${key}</kbd> ${what}`;
      help.appendChild(line);
    }
  }

  apply();
  announce();
})();
