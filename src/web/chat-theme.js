// The chat page's theme: the system's (light or dark) unless the user picked one, remembered in
// localStorage. A classic script in <head>, so the theme is right from the first paint.

{
  const KEY = "herald.theme"
  const ORDER = ["system", "light", "dark"]
  const root = document.documentElement

  /** @param {string} theme */
  const apply = (theme) => {
    if (theme === "light" || theme === "dark") root.dataset.theme = theme
    else delete root.dataset.theme
  }
  const stored = () => {
    try {
      return localStorage.getItem(KEY) ?? "system"
    } catch {
      return "system"
    }
  }
  let current = stored()
  apply(current)

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("theme")
    if (button === null) return
    const label = (theme) => {
      button.title = `Theme: ${theme === "system" ? "follows the system" : theme} (click to change)`
      button.dataset.theme = theme
    }
    label(current)
    button.addEventListener("click", () => {
      current = ORDER[(ORDER.indexOf(current) + 1) % ORDER.length] ?? "system"
      try {
        localStorage.setItem(KEY, current)
      } catch {
        // Not remembered (storage refused): it still applies to this page.
      }
      apply(current)
      label(current)
    })
  })
}
