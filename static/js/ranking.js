/* The ranking page. Progressive enhancement: without this script every "Move up" / "Move down"
 * button and "Save ranking" posts the form and the server applies the move. With it, the same
 * moves (delphi/panelist/ranking.py: apply_move, mirrored here) happen in the page, the list is
 * re-ordered, focus stays on the button that was pressed, the new rank is announced, and the whole
 * ranking is autosaved in one request with a sequence number so a late, older save never wins. */
(function () {
  "use strict";
  var form = document.getElementById("ranking");
  if (!form || !window.fetch) return;
  var list = document.getElementById("ranking-list");
  var status = document.getElementById("save-status");
  var url = form.dataset.autosaveUrl;
  var limit = parseInt(form.dataset.limit, 10);
  var ties = form.dataset.ties === "1";
  var seq = parseInt(form.dataset.seq || "0", 10);
  var csrf = (form.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  var rows = Array.prototype.slice.call(list.querySelectorAll("li[data-item]"));
  var order = {};  // the round's order, for unranked items
  rows.forEach(function (li, i) { order[li.dataset.item] = i; });
  var pending = null;
  var inFlight = false;
  var retryTimer = null;
  // Where the last move put the statement ("RSK-1: rank 4."). It leads every save message, so
  // "Saving…" and "Saved" never replace it: a screen-reader user hears where the statement went
  // however long the save takes.
  var note = "";

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", !!isError);
  }

  function sayNote(text) {
    say(note ? note + " " + text : text);
  }

  function readRanks() {
    var ranks = {};
    rows.forEach(function (li) {
      var v = li.querySelector("select").value;
      ranks[li.dataset.item] = v === "" ? null : parseInt(v, 10);
    });
    return ranks;
  }

  function count(ranks) {
    var n = 0;
    for (var k in ranks) if (ranks[k] !== null) n++;
    return n;
  }

  function setMove(ranks, item, value) {
    var next = Object.assign({}, ranks);
    var old = next[item];
    var holder = {};
    for (var k in next) if (k !== item && next[k] !== null) holder[next[k]] = k;
    if (value === null || value < 1 || value > limit) { next[item] = null; return next; }
    var other = holder[value];
    next[item] = value;
    if (other === undefined) return next;
    if (old !== null) { next[other] = old; return next; }
    var r = value, moving = other;
    while (moving !== undefined) {
      r += 1;
      var after = holder[r];
      next[moving] = r <= limit ? r : null;
      if (r > limit) break;
      moving = after;
    }
    return next;
  }

  function applyMove(ranks, item, action, value) {
    var next = Object.assign({}, ranks);
    var old = next[item];
    var n = Object.keys(next).length;
    if (ties) {
      if (action === "set") next[item] = value && value >= 1 && value <= limit ? value : null;
      else if (action === "up") next[item] = old === null ? limit : Math.max(1, old - 1);
      else if (action === "down" && old !== null) {
        next[item] = old >= limit && limit < n ? null : Math.min(limit, old + 1);
      }
      return next;
    }
    if (action === "up") {
      if (old === null) {
        var used = 0, taken = {};
        for (var k in next) if (next[k] !== null) { used = Math.max(used, next[k]); taken[next[k]] = 1; }
        var target = used + 1;
        if (target > limit) {
          target = limit;
          for (var r = limit; r >= 1; r--) if (!taken[r]) { target = r; break; }
        }
        return setMove(next, item, target);
      }
      return old > 1 ? setMove(next, item, old - 1) : next;
    }
    if (action === "down") {
      if (old === null) return next;
      if (old >= limit) { if (limit < n) next[item] = null; return next; }
      return setMove(next, item, old + 1);
    }
    return setMove(next, item, value);
  }

  function render(ranks) {
    rows.sort(function (a, b) {
      var ra = ranks[a.dataset.item], rb = ranks[b.dataset.item];
      if ((ra === null) !== (rb === null)) return ra === null ? 1 : -1;
      if (ra !== rb) return ra - rb;
      return order[a.dataset.item] - order[b.dataset.item];
    });
    rows.forEach(function (li) {
      var r = ranks[li.dataset.item];
      var sel = li.querySelector("select");
      sel.value = r === null ? "" : String(r);
      sel.dataset.saved = sel.value;
      var badge = li.querySelector("[data-badge]");
      badge.textContent = r === null ? "–" : String(r);
      badge.classList.toggle("unranked", r === null);
      li.querySelector("[data-rank-text]").textContent =
        (r === null ? form.dataset.msgUnranked : form.dataset.msgRank.replace("__R__", r)) + ": ";
      list.appendChild(li);  // appending in sorted order re-orders the list
    });
    var filled = count(ranks);
    var text = document.getElementById("progress-text");
    var bar = document.getElementById("progress-bar");
    if (text) text.textContent = form.dataset.msgProgress.replace("__R__", filled).replace("__T__", limit);
    if (bar) bar.value = filled;
  }

  function send() {
    if (inFlight || !pending) return;
    var payload = pending;
    inFlight = true;
    sayNote(form.dataset.msgSaving);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(payload)
    }).then(function (resp) {
      return resp.json().catch(function () { return {ok: false, error: ""}; })
        .then(function (data) { return {resp: resp, data: data}; });
    }).then(function (r) {
      inFlight = false;
      if (r.resp.ok && r.data.ok) {
        if (pending === payload) pending = null;
        if (r.data.stale) say(form.dataset.msgStale, true);
        else if (!pending) sayNote(form.dataset.msgSaved);
        send();
      } else if (r.resp.status >= 500) {
        retry();
      } else {
        if (pending === payload) pending = null;
        say(form.dataset.msgError + " " + (r.data.error || r.resp.status), true);
      }
    }).catch(function () {
      inFlight = false;
      retry();
    });
  }

  function retry() {
    say(form.dataset.msgOffline, true);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(send, 3000);
  }

  function save(ranks) {
    seq += 1;
    pending = {seq: seq, ranks: ranks};
    send();
  }

  function announce(item, ranks) {
    var li = document.getElementById("row-" + item);
    var code = li ? li.dataset.code : "";
    var r = ranks[item];
    return r === null ? form.dataset.msgRemoved.replace("__T__", code)
      : form.dataset.msgMoved.replace("__T__", code).replace("__R__", r);
  }

  function change(item, action, value, focusSelector, current) {
    var ranks = applyMove(current || readRanks(), item, action, value);
    render(ranks);
    note = announce(item, ranks);
    save(ranks);
    // The row moved in the DOM: put focus back where the panelist was.
    var li = document.getElementById("row-" + item);
    var target = li && li.querySelector(focusSelector);
    if (target) {
      if (target.disabled) target = li.querySelector("select");
      target.focus();
    }
  }

  list.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button[data-move]");
    if (!btn) return;
    ev.preventDefault();
    var li = btn.closest("li[data-item]");
    change(li.dataset.item, btn.dataset.move, null, "button[data-move=" + btn.dataset.move + "]");
  });

  // A closed select changes with every arrow key: moving the other statements at each step
  // would scramble them. Keyboard choices apply on Enter or when focus leaves the select; a
  // choice from the opened list (mouse, touch, a phone's picker) applies at once.
  var dirty = null;
  function applySelect(sel) {
    dirty = null;
    var li = sel.closest("li[data-item]");
    var value = sel.value === "" ? null : parseInt(sel.value, 10);
    var ranks = readRanksExcept(li.dataset.item, sel.dataset.saved);
    if (ranks[li.dataset.item] === value) return;
    change(li.dataset.item, "set", value, "select", ranks);
  }
  function readRanksExcept(item, saved) {
    var ranks = readRanks();
    ranks[item] = saved === undefined || saved === "" ? null : parseInt(saved, 10);
    return ranks;
  }
  rows.forEach(function (li) {
    var sel = li.querySelector("select");
    sel.dataset.saved = sel.value;
    sel.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        applySelect(sel);
      } else if (ev.key.indexOf("Arrow") === 0 || ev.key === "Home" || ev.key === "End") {
        dirty = sel;
      }
    });
    sel.addEventListener("change", function () {
      if (dirty !== sel) applySelect(sel);
    });
    sel.addEventListener("blur", function () {
      if (dirty === sel) applySelect(sel);
    });
  });

  // Let a pending save finish before the page is left.
  window.addEventListener("beforeunload", function (ev) {
    if (pending) { send(); ev.preventDefault(); ev.returnValue = ""; }
  });
})();
