// fulfil workbench: highlight the instance's current state on the process diagram.
// Graphviz puts a state's name in the node's <title>; fulfil's built-in drawing in its first <text>.
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("section.diagram[data-state]")) {
    const state = box.dataset.state;
    for (const node of box.querySelectorAll("g.node")) {
      const title = node.querySelector("title");
      const text = node.querySelector("text");
      const name = (title && title.textContent.trim()) || (text && text.textContent.trim());
      if (name === state) node.classList.add("current");
    }
  }
});
// A refused form re-renders the page: bring its message (beside the form) into view.
document.addEventListener("DOMContentLoaded", () => {
  const refusal = document.querySelector("main p.refusal[role=alert]");
  if (refusal && refusal.getBoundingClientRect().top > window.innerHeight) {
    refusal.scrollIntoView({block: "center"});
  }
});
