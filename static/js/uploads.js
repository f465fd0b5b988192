// "Files and versions" page: several files or a folder sent in resumable parts, then committed as ONE
// commit, through the API of catalog/api/uploads.py (the sessions the Hugging Face protocol uses too).
// Each file's progress bar follows the bytes sent; the server's list of received parts is the truth.
// An interrupted upload resumes: the session id of each file (by path, name, size and modification
// time) is kept in localStorage, so trying again, even after reloading the page and choosing the
// same file, sends only the parts still missing. Without this script the single-file form works.
(function () {
  "use strict";

  var STORE = "omh-upload:";

  function remembered(key) {
    try { return window.localStorage.getItem(STORE + key); } catch (e) { return null; }
  }

  function remember(key, id) {
    try { window.localStorage.setItem(STORE + key, id); } catch (e) { /* private mode: no resume after reload */ }
  }

  function forget(key) {
    try { window.localStorage.removeItem(STORE + key); } catch (e) { /* nothing kept */ }
  }

  function failure(message) {
    var error = new Error(message);
    error.fromServer = true;
    return error;
  }

  // One request; resolves with {status, data} for any HTTP answer, rejects when the connection fails.
  function send(method, url, body, csrf, onprogress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      if (body instanceof Blob) {
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
      } else if (body !== null) {
        xhr.setRequestHeader("Content-Type", "application/json");
        body = JSON.stringify(body);
      }
      if (onprogress) {
        xhr.upload.onprogress = function (event) { onprogress(event.loaded); };
      }
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        resolve({ status: xhr.status, data: data });
      };
      xhr.onerror = xhr.onabort = xhr.ontimeout = function () {
        reject(new Error("the connection was interrupted"));
      };
      xhr.send(body);
    });
  }

  function detail(response) {
    var data = response.data;
    if (data && typeof data.detail === "string") { return data.detail; }
    if (data && typeof data === "object") { return JSON.stringify(data); }
    return "the hub answered " + response.status;
  }

  function partLength(session, number) {
    return Math.max(0, Math.min(session.part_size, session.size - (number - 1) * session.part_size));
  }

  function acknowledged(session) {
    return session.received_parts.reduce(function (sum, n) { return sum + partLength(session, n); }, 0);
  }

  function Uploader(root) {
    this.root = root;
    this.api = root.getAttribute("data-api");
    this.parent = root.getAttribute("data-parent") || null;
    this.form = root.querySelector("form");
    this.csrf = this.form.querySelector("[name=csrfmiddlewaretoken]").value;
    this.filesInput = root.querySelector("[data-upload-files]");
    this.folderInput = root.querySelector("[data-upload-folder]");
    this.into = root.querySelector("[data-upload-into]");
    this.message = root.querySelector("[data-upload-message]");
    this.description = root.querySelector("[data-upload-description]");
    this.queue = root.querySelector("[data-upload-queue]");
    this.status = root.querySelector("[data-upload-status]");
    this.button = root.querySelector("button[type=submit]");
    this.entries = [];
    var self = this;
    [this.filesInput, this.folderInput, this.into].forEach(function (input) {
      input.addEventListener("change", function () { self.choose(); });
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.run();
    });
    root.hidden = false;
  }

  // While files are sent, the choice cannot change under them.
  Uploader.prototype.busy = function (on) {
    [this.button, this.filesInput, this.folderInput, this.into].forEach(function (control) {
      control.disabled = on;
    });
  };

  Uploader.prototype.say = function (text, kind) {
    this.status.textContent = text;
    this.status.className = "upload-status" + (kind ? " " + kind : "");
  };

  // The paths the chosen files go to: a file by its name, a folder's files relative to the folder.
  Uploader.prototype.choose = function () {
    var prefix = this.into.value.trim().replace(/^\/+|\/+$/g, "");
    prefix = prefix ? prefix + "/" : "";
    var byPath = {};
    var order = [];
    function add(file, relative) {
      var path = prefix + relative;
      if (!(path in byPath)) { order.push(path); }
      byPath[path] = file;
    }
    Array.prototype.forEach.call(this.filesInput.files, function (file) { add(file, file.name); });
    Array.prototype.forEach.call(this.folderInput.files, function (file) {
      var parts = (file.webkitRelativePath || file.name).split("/");
      add(file, parts.length > 1 ? parts.slice(1).join("/") : parts[0]);
    });
    order.sort();
    this.queue.textContent = "";
    this.entries = order.map(function (path) { return this.entry(path, byPath[path]); }, this);
    this.say(this.entries.length ? this.entries.length + " file(s) to commit." : "");
  };

  Uploader.prototype.entry = function (path, file) {
    var row = document.createElement("li");
    var name = document.createElement("span");
    name.className = "upload-path";
    name.textContent = path;
    var bar = document.createElement("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    bar.setAttribute("aria-label", "Progress of " + path);
    var state = document.createElement("span");
    state.className = "upload-state";
    state.textContent = "waiting";
    row.append(name, " ", bar, " ", state);
    this.queue.appendChild(row);
    return {
      path: path,
      file: file,
      key: [this.api, path, file.name, file.size, file.lastModified].join("\n"),
      session: null,
      row: row,
      bar: bar,
      state: state
    };
  };

  Uploader.prototype.show = function (entry, sent, text) {
    entry.bar.value = entry.file.size ? Math.min(sent, entry.file.size) : (sent ? 1 : 0);
    entry.state.textContent = text;
  };

  // The session of a file: the one of an earlier attempt if the hub still has it, otherwise a new one.
  Uploader.prototype.session = function (entry) {
    var self = this;
    var id = entry.session ? entry.session.id : remembered(entry.key);
    var found = id
      ? send("GET", this.api + "uploads/" + id, null, this.csrf)
      : Promise.resolve({ status: 404 });
    return found.then(function (response) {
      if (response.status === 200 && response.data.size === entry.file.size) {
        return response.data;
      }
      forget(entry.key);
      return send("POST", self.api + "uploads/", { size: entry.file.size }, self.csrf).then(function (created) {
        if (created.status !== 201) { throw failure(detail(created)); }
        remember(entry.key, created.data.id);
        return created.data;
      });
    }).then(function (session) {
      entry.session = session;
      return session;
    });
  };

  // Parts still missing, one after the other; the bar moves with the bytes of the part in flight.
  Uploader.prototype.sendParts = function (entry) {
    var self = this;
    var session = entry.session;
    if (session.sha256) { return Promise.resolve(); }
    var missing = [];
    for (var n = 1; n <= session.part_count; n += 1) {
      if (session.received_parts.indexOf(n) < 0) { missing.push(n); }
    }
    var resumed = session.received_parts.length > 0;
    return missing.reduce(function (previous, number) {
      return previous.then(function () {
        var start = (number - 1) * session.part_size;
        var blob = entry.file.slice(start, start + partLength(session, number));
        var before = acknowledged(session);
        var label = (resumed ? "resuming: " : "") + "part " + number + " of " + session.part_count;
        self.show(entry, before, label);
        var url = self.api + "uploads/" + session.id + "/parts/" + number;
        return send("PUT", url, blob, self.csrf, function (loaded) {
          self.show(entry, before + loaded, label);
        }).then(function (response) {
          if (response.status !== 200) { throw failure(detail(response)); }
          session.received_parts = response.data.received_parts;
          self.show(entry, acknowledged(session), label);
        });
      });
    }, Promise.resolve());
  };

  Uploader.prototype.complete = function (entry) {
    var self = this;
    this.show(entry, acknowledged(entry.session), "checking");
    var url = this.api + "uploads/" + entry.session.id + "/complete";
    return send("POST", url, null, this.csrf).then(function (response) {
      if (response.status !== 200) { throw failure(detail(response)); }
      entry.session.sha256 = response.data.sha256;
      self.show(entry, entry.file.size || 1, "sent, SHA-256 " + response.data.sha256.slice(0, 12) + "…");
      entry.row.classList.add("sent");
    });
  };

  Uploader.prototype.upload = function (entry) {
    var self = this;
    return this.session(entry)
      .then(function () { return self.sendParts(entry); })
      .then(function () { return self.complete(entry); })
      .catch(function (error) {
        entry.state.textContent = "stopped: " + error.message;
        entry.row.classList.add("failed");
        throw error;
      });
  };

  Uploader.prototype.commit = function () {
    var self = this;
    var count = this.entries.length;
    var message = this.message.value.trim() ||
      (count === 1 ? "Upload " + this.entries[0].path : "Upload " + count + " files");
    var body = {
      message: message,
      description: this.description.value,
      files: this.entries.map(function (entry) { return { path: entry.path, upload: entry.session.id }; }),
      parent_commit: this.parent
    };
    return send("POST", this.api + "commits/", body, this.csrf).then(function (response) {
      if (response.status !== 201) { throw failure(detail(response)); }
      self.entries.forEach(function (entry) {
        forget(entry.key);
        entry.state.textContent = "committed";
      });
      self.parent = response.data.commit;
      self.root.setAttribute("data-parent", self.parent);
      self.committed(response.data);
      return self.refresh();
    });
  };

  Uploader.prototype.committed = function (result) {
    this.status.textContent = "";
    this.status.className = "upload-status done";
    var link = document.createElement("a");
    link.href = result.url;
    link.textContent = result.commit.slice(0, 7);
    this.status.append("Committed ", link, ": " + result.files.length + " file(s) changed.");
  };

  // The file table as the page now renders it.
  Uploader.prototype.refresh = function () {
    return fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("table.files");
        var table = document.querySelector("table.files");
        if (fresh && table) { table.replaceWith(fresh); }
      })
      .catch(function () { /* the commit is made; the table shows it after a reload */ });
  };

  Uploader.prototype.run = function () {
    var self = this;
    if (!this.entries.length) {
      this.say("Choose files or a folder first.", "error");
      return;
    }
    if (this.entries.every(function (entry) { return entry.row.classList.contains("committed"); })) {
      this.say("These files are committed; choose others.", "error");
      return;
    }
    this.busy(true);
    this.say("Uploading " + this.entries.length + " file(s)…");
    this.entries.forEach(function (entry) { entry.row.classList.remove("failed"); });
    this.entries.reduce(function (previous, entry) {
      return previous.then(function () { return self.upload(entry); });
    }, Promise.resolve())
      .then(function () {
        self.say("Committing…");
        return self.commit();
      })
      .then(function () {
        self.entries.forEach(function (entry) { entry.row.classList.add("committed"); });
      })
      .catch(function (error) {
        var text = error.fromServer ? error.message :
          "The upload stopped (" + error.message + "). Press \u201cCommit changes\u201d again to resume: " +
          "the parts already received are not sent again.";
        self.say(text, "error");
      })
      .then(function () { self.busy(false); });
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-uploader]").forEach(function (root) { return new Uploader(root); });
  });
})();
