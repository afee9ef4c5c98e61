// The basket of chosen sources (kept in localStorage, so it survives a reload), its count
// in the menu, and the print button of the plan. The pages work without this file; it
// only adds the basket.
"use strict";

(function () {
  var KEY = "helsedata.basket";

  function load() {
    try {
      var items = JSON.parse(window.localStorage.getItem(KEY) || "[]");
      return Array.isArray(items) ? items.filter(function (i) { return i && typeof i.id === "string"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function save(items) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(items));
    } catch (e) {
      // Storage may be off (private mode); the basket then lasts for this page only.
    }
    showCount(items);
  }

  function has(items, id) {
    return items.some(function (i) { return i.id === id; });
  }

  function showCount(items) {
    var count = document.getElementById("basket-count");
    if (count) {
      count.textContent = String(items.length);
    }
  }

  function markAdded(button) {
    button.setAttribute("aria-pressed", "true");
    button.classList.add("added");
    var added = button.getAttribute("data-added");
    if (added && button.firstChild) {
      button.firstChild.textContent = added;
    }
  }

  function wireAddButtons(items) {
    var buttons = document.querySelectorAll("button.basket-add");
    Array.prototype.forEach.call(buttons, function (button) {
      var id = button.getAttribute("data-id");
      button.setAttribute("aria-pressed", has(items, id) ? "true" : "false");
      if (has(items, id)) {
        markAdded(button);
      }
      button.addEventListener("click", function () {
        var current = load();
        if (!has(current, id)) {
          current.push({ id: id, name: button.getAttribute("data-name") || id });
          save(current);
        }
        markAdded(button);
      });
    });
  }

  function choiceFor(fieldset, item) {
    var wrap = document.createElement("div");
    wrap.className = "source-choice";
    wrap.setAttribute("data-id", item.id);
    var box = document.createElement("input");
    box.type = "checkbox";
    box.name = "source";
    box.value = item.id;
    box.id = "source-" + item.id;
    box.checked = true;
    var label = document.createElement("label");
    label.htmlFor = box.id;
    label.textContent = item.name + " ";
    var code = document.createElement("code");
    code.textContent = item.id;
    label.appendChild(code);
    wrap.appendChild(box);
    wrap.appendChild(document.createTextNode(" "));
    wrap.appendChild(label);
    return wrap;
  }

  function wireBasketForm(items) {
    var fieldset = document.getElementById("basket-sources");
    if (!fieldset) {
      return;
    }
    var present = {};
    Array.prototype.forEach.call(fieldset.querySelectorAll(".source-choice"), function (el) {
      present[el.getAttribute("data-id")] = true;
    });
    var anchor = fieldset.querySelector("p");
    items.forEach(function (item) {
      if (!present[item.id]) {
        fieldset.insertBefore(choiceFor(fieldset, item), anchor);
      }
    });
    if (items.length === 0 && !fieldset.querySelector(".source-choice")) {
      var empty = document.createElement("p");
      empty.className = "basket-empty";
      empty.textContent = fieldset.getAttribute("data-empty") || "";
      fieldset.insertBefore(empty, anchor);
    }
    fieldset.addEventListener("change", function (event) {
      var box = event.target;
      if (box && box.name === "source" && box.type === "checkbox" && !box.checked) {
        save(load().filter(function (i) { return i.id !== box.value; }));
      }
    });
  }

  function wirePrint() {
    var button = document.getElementById("print-plan");
    if (button) {
      button.addEventListener("click", function () { window.print(); });
    }
    // A printed plan shows its rule traces: closed ones are opened for the print only.
    var opened = [];
    window.addEventListener("beforeprint", function () {
      opened = Array.prototype.filter.call(document.querySelectorAll("details.trace"), function (d) {
        return !d.open;
      });
      opened.forEach(function (d) { d.open = true; });
    });
    window.addEventListener("afterprint", function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var items = load();
    showCount(items);
    wireAddButtons(items);
    wireBasketForm(items);
    wirePrint();
  });
})();
