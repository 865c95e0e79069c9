// The article body editor's own extensions (articles/editor.py, settings.DJANGO_PROSE_EDITOR_EXTENSIONS).
//
// ChineseLabels: django-prose-editor writes its menu's titles and block names in English, outside
// gettext ("Heading 2", "Paragraph", "bold"); the dialogs' labels go through gettext (locale/).
// OfficePaste: Word and WPS put list items on the clipboard as paragraphs with a typed marker
// ("1.&nbsp;&nbsp;"), and Google Docs bold as styled spans; this turns them into the lists and marks
// the editor has, by the rules articles/pasted.py applies to whatever reaches the server.
import { Extension, Plugin, getHTMLFromFragment } from "django-prose-editor/editor"

const HEADING_NAMES = { 2: "二级标题", 3: "三级标题", 4: "四级标题", 5: "五级标题", 6: "六级标题" }

// Menu buttons by their English title.
const TITLES = {
  "unordered list": "无序列表",
  "ordered list": "有序列表",
  blockquote: "引用",
  "horizontal rule": "分隔线",
  figure: "图片",
  paragraph: "正文段落",
  bold: "粗体",
  italic: "斜体",
  underline: "下划线",
  strike: "删除线",
  subscript: "下标",
  superscript: "上标",
  Code: "行内代码",
  "Code block": "代码块",
  undo: "撤销",
  redo: "重做",
  "edit HTML": "编辑源代码",
  "insert link": "插入链接",
  "remove link": "移除链接",
  "Insert table": "插入表格",
  "Add column": "在右侧插入列",
  "Delete column": "删除列",
  "Add row": "在下方插入行",
  "Delete row": "删除行",
  "Delete table": "删除表格",
  "Merge cells": "合并单元格",
  "Split cell": "拆分单元格",
  "Toggle header cell": "切换表头单元格",
  "Toggle fullscreen": "全屏",
  "List properties": "列表设置",
}
for (const [level, name] of Object.entries(HEADING_NAMES)) TITLES[`heading ${level}`] = name

// The block-type menu's entries, by their English text.
const OPTIONS = {
  Paragraph: "正文段落",
  "unordered list": "无序列表",
  "ordered list": "有序列表",
  "Code block": "代码块",
  blockquote: "引用",
  "horizontal rule": "分隔线",
  figure: "图片",
}
for (const [level, name] of Object.entries(HEADING_NAMES)) OPTIONS[`Heading ${level}`] = name

// A dialog's choices the package does not translate: the value sent stays the English one.
const CHOICES = { Yes: "是", No: "否" }

const MENU_GROUPS = "blockType lists nodes headings marks link table history utility textAlign nodeClass textClass"

function relabel(element) {
  if (!element) return
  const title = element.getAttribute("title")
  if (title in TITLES) {
    element.setAttribute("title", TITLES[title])
    element.setAttribute("aria-label", TITLES[title])
  }
}

export const ChineseLabels = Extension.create({
  name: "chineseLabels",
  // After every extension that adds menu items: addMenuItems runs in order of priority.
  priority: 1,

  addMenuItems({ menu }) {
    for (const item of menu.items(MENU_GROUPS)) {
      relabel(item.button)
      if (item.option && item.option.textContent in OPTIONS) {
        item.option.textContent = OPTIONS[item.option.textContent]
      }
    }
  },

  onCreate() {
    const holder = this.editor.view.dom.parentElement
    for (const element of holder.querySelectorAll("[title]")) relabel(element)
    // Dialogs are made when opened.
    new MutationObserver(() => {
      for (const option of holder.querySelectorAll("dialog option")) {
        if (option.textContent in CHOICES) {
          option.value = option.textContent
          option.textContent = CHOICES[option.textContent]
        }
      }
    }).observe(holder, { childList: true, subtree: true })
  },
})

// A list marker Word or WPS typed before an item's text: ordered ("1.", "a)", "iv.", "一、", "（1）")
// or a bullet ("·", "•", "o", "§", a Symbol or Wingdings character).
const ORDERED_MARKER = /^\s*(?:\(?[0-9]{1,3}[.)、]?|[a-zA-Z][.)]|[ivxlcIVXLC]{1,6}[.)]|[一二三四五六七八九十]{1,3}[、.]|（[0-9一二三四五六七八九十]{1,3}）)[\s\u00a0]+/
const BULLET_MARKER = /^\s*[·•●○◦■□▪▫◆◇➢➤✓✔\-–—*§oØü\uf0a7\uf0b7\uf0d8\uf0fc][\s\u00a0]+/

function msoListLevel(element) {
  const style = element.getAttribute("style") || ""
  const list = /mso-list:\s*(l\d+)\s+level(\d+)/i.exec(style)
  if (list) return Number(list[2])
  return /(^|\s)MsoListParagraph/i.test(element.className) ? 1 : 0
}

function takeMarker(paragraph) {
  // Word marks its typed marker with mso-list:Ignore (WPS too); without it, the text's start is the marker.
  const ignored = paragraph.querySelector('[style*="mso-list:Ignore" i], [style*="mso-list: Ignore" i]')
  if (ignored) {
    const marker = ignored.textContent
    ignored.remove()
    return marker
  }
  const found = ORDERED_MARKER.exec(paragraph.textContent) || BULLET_MARKER.exec(paragraph.textContent)
  if (!found) return ""
  // The marker may span several text nodes (<span>1.</span><span>&nbsp;&nbsp;</span>).
  let left = found[0].length
  const walker = paragraph.ownerDocument.createTreeWalker(paragraph, NodeFilter.SHOW_TEXT)
  for (let text = walker.nextNode(); text && left > 0; text = walker.nextNode()) {
    const taken = Math.min(left, text.data.length)
    text.data = text.data.slice(taken)
    left -= taken
  }
  return found[0]
}

function listsFromParagraphs(body) {
  const document = body.ownerDocument
  let stack = [] // the lists of the run being built, outermost first
  for (const paragraph of [...body.querySelectorAll("p")]) {
    const level = msoListLevel(paragraph)
    if (!level) continue
    const marker = takeMarker(paragraph).replace(/[\s\u00a0]+/g, "")
    const tag = ORDERED_MARKER.test(`${marker} `) ? "ol" : "ul"
    let before = paragraph.previousSibling
    while (before && (before.nodeType === 8 || (before.nodeType === 3 && !before.data.trim()))) before = before.previousSibling
    if (!stack.length || before !== stack[0]) stack = []
    while (stack.length > level) stack.pop()
    while (stack.length < level) {
      const list = document.createElement(tag)
      if (stack.length) (stack.at(-1).lastElementChild || stack.at(-1)).append(list)
      else paragraph.before(list)
      stack.push(list)
    }
    const item = document.createElement("li")
    const text = document.createElement("p")
    text.append(...paragraph.childNodes)
    item.append(text)
    stack.at(-1).append(item)
    paragraph.remove()
  }
}

function marksFromStyles(body) {
  for (const element of body.querySelectorAll("b, span")) {
    const style = (element.getAttribute("style") || "").toLowerCase()
    // Google Docs wraps a whole copy in <b style="font-weight:normal">: that is not bold.
    if (element.localName === "b" && /font-weight:\s*(normal|[1-5]00)\b/.test(style)) {
      element.replaceWith(...element.childNodes)
      continue
    }
    if (element.localName !== "span") continue
    let content = [...element.childNodes]
    if (/font-weight:\s*(bold|[6-9]00)\b/.test(style)) {
      const strong = body.ownerDocument.createElement("strong")
      strong.append(...content)
      content = [strong]
    }
    if (/font-style:\s*italic\b/.test(style)) {
      const em = body.ownerDocument.createElement("em")
      em.append(...content)
      content = [em]
    }
    element.replaceWith(...content)
  }
}

// A body's <h1> is a second-level heading, as sanitize.py makes it: the title is the page's <h1>,
// and the editor's schema, which has no <h1>, would make it a paragraph.
function headingsBelowTitle(body) {
  for (const heading of body.querySelectorAll("h1")) {
    const h2 = body.ownerDocument.createElement("h2")
    h2.append(...heading.childNodes)
    heading.replaceWith(h2)
  }
}

export function cleanPastedHTML(html) {
  const document = new DOMParser().parseFromString(html, "text/html")
  listsFromParagraphs(document.body)
  marksFromStyles(document.body)
  headingsBelowTitle(document.body)
  return document.body.innerHTML
}

// The attribute that holds the address of a link and of an image.
const ADDRESS_OF = { a: "href", img: "src" }
// What the editor rewrites as its own rather than leaves out: a table's <thead> rows become its
// first rows (their <th> cells kept), as the page shows them; and its marks, which it never drops
// with their text, join when nested or side by side, and go when empty (Word's <b><o:p></o:p></b>).
const REWRITTEN_BY_THE_EDITOR = new Set(["thead", "strong", "em", "u", "s", "sub", "sup", "code"])

// The names of the elements and attributes of ``html``, with how many times each occurs, and the
// addresses of its links and images (``addresses.href``, ``addresses.src``), in order.
function htmlNames(html) {
  const document = new DOMParser().parseFromString(html, "text/html")
  const elements = new Map()
  const attributes = new Map()
  const addresses = { href: [], src: [] }
  // A <style> or <meta> typed first is parsed into the head.
  for (const element of document.querySelectorAll("head *, body *")) {
    // Office's namespaced elements (<o:p>) are markup, and an <a> without an address (Word's
    // bookmarks, <a name="_Toc…">) links nowhere: neither is missed (nor named by the server).
    if (element.localName.includes(":") || (element.localName === "a" && !element.hasAttribute("href"))) continue
    elements.set(element.localName, (elements.get(element.localName) || 0) + 1)
    for (const name of element.getAttributeNames()) attributes.set(name, (attributes.get(name) || 0) + 1)
    const address = ADDRESS_OF[element.localName]
    if (address && element.hasAttribute(address)) addresses[address].push(element.getAttribute(address))
  }
  return { elements, attributes, addresses }
}

// The addresses of ``typed`` that ``kept`` no longer holds, as many times as they were lost.
function addressesLost(typed, kept) {
  const left = [...kept]
  return typed.filter((address) => {
    const at = left.indexOf(address)
    if (at === -1) return true
    left.splice(at, 1)
    return false
  })
}

// What the schema dropped of the ``typed`` HTML, found in what the editor ``kept`` (not in a list of
// what the schema holds, which changes with the editor's configuration), named as the server's
// warning names it (sanitize.html_left_out, reasons.html_left_out_in_chinese: the rule and the words
// come from the widget's data-html-left-out): "1 个 <script>（脚本）、1 处 onclick 属性（事件脚本）".
// A link the schema refused for its address (javascript:) keeps its text: it is counted once, as
// the server counts it, by its address, which is named: "1 处 href 属性（链接地址：“javascript:x”）".
function leftOutInChinese(typed, kept, rule) {
  const before = htmlNames(typed)
  const after = htmlNames(kept)
  const lostAddresses = {
    href: addressesLost(before.addresses.href, after.addresses.href),
    src: addressesLost(before.addresses.src, after.addresses.src),
  }
  const items = []
  for (const [name, count] of before.elements) {
    let lost = count - (after.elements.get(name) || 0)
    if (name in ADDRESS_OF) lost -= lostAddresses[ADDRESS_OF[name]].length
    if (lost > 0 && !rule.unmissed_elements.includes(name) && !REWRITTEN_BY_THE_EDITOR.has(name)) {
      items.push(`${lost} 个 <${name}>` + (name in rule.glosses ? `（${rule.glosses[name]}）` : ""))
    }
  }
  for (const [name, count] of before.attributes) {
    const lost = count - (after.attributes.get(name) || 0)
    const event = name.startsWith("on")
    if (lost > 0 && (event || rule.read_attributes.includes(name))) {
      let gloss = event ? rule.event_handler : rule.glosses[name]
      const named = [...new Set(lostAddresses[name] || [])]
      if (gloss && named.length) {
        gloss += "：" + named.slice(0, rule.max_named).map((address) => `“${shortened(address, rule)}”`).join("、")
        if (named.length > rule.max_named) gloss += " 等"
      }
      items.push(`${lost} 处 ${name} 属性` + (gloss ? `（${gloss}）` : ""))
    }
  }
  const more = items.length - rule.max_named
  return [...items.slice(0, rule.max_named), ...(more > 0 ? [`另外 ${more} 种`] : [])].join("、")
}

// Whether the allow-list keeps the link or image address ``address`` (sanitize.address_is_kept):
// ammonia keeps one its URL parser reads with a scheme of ``schemes``, or cannot read for want of a
// base (no scheme: a relative address). The browser's parser follows the same WHATWG URL standard,
// but for a host: Chromium reads "exa mple.com" as "exa%20mple.com", where the standard refuses a
// space, and a "%" too (the save's warning stays the last word where the two parsers differ).
function addressIsKept(address, schemes) {
  try {
    const url = new URL(address)
    return schemes.includes(url.protocol.slice(0, -1)) && !url.hostname.includes("%")
  } catch {
    // Read as the parser reads a scheme: the ends' spaces and controls stripped, tabs and newlines dropped.
    const read = address.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "")
    return !/^[a-z][a-z0-9+.-]*:/i.test(read)
  }
}

// The addresses the editor ``kept`` (ftp:, tel:, "http://exa mple.com") that the save will drop, as
// the server's warning will then say: "保存时已去掉：1 处 href 属性（链接地址：“tel:95588”）".
// An address named up to rule.max_address_chars characters, as the server names it (a data: image's
// is often kilobytes long).
function shortened(address, rule) {
  const max = rule.max_address_chars
  return address.length <= max ? address : address.slice(0, max - 1) + "…"
}

function addressesDropped(kept, rule) {
  const document = new DOMParser().parseFromString(kept, "text/html")
  const addresses = []
  for (const element of document.querySelectorAll("[href], [src]")) {
    for (const name of ["href", "src"]) {
      const address = element.getAttribute(name)
      if (address !== null && !addressIsKept(address, rule.url_schemes)) addresses.push(`“${shortened(address, rule)}”`)
    }
  }
  const more = addresses.length - rule.max_named
  return [...addresses.slice(0, rule.max_named), ...(more > 0 ? [`另外 ${more} 处`] : [])].join("、")
}

// Says under the editor what the source dialog left out, and what the save will drop of what it
// kept, or removes what it said before.
function noticeLeftOut(wrapper, typed, kept) {
  const rule = JSON.parse(wrapper.querySelector("textarea[data-html-left-out]")?.dataset.htmlLeftOut || "null")
  if (!rule) return
  wrapper.querySelector(".body-editor-left-out")?.remove()
  const said = []
  const leftOut = leftOutInChinese(typed, kept, rule)
  if (leftOut) said.push(`以下内容编辑器不支持，已去掉：${leftOut}`)
  const dropped = addressesDropped(kept, rule)
  if (dropped) {
    const schemes = rule.url_schemes.join("、")
    said.push(`以下地址本站不能保留，保存时会去掉（只保留能识别的 ${schemes} 地址，链接文字保留）：${dropped}`)
  }
  if (!said.length) return
  const notice = wrapper.ownerDocument.createElement("p")
  notice.className = "body-editor-left-out errornote"
  notice.setAttribute("role", "alert")
  notice.textContent = said.join("；")
  wrapper.append(notice)
}

// The HTML source dialog (编辑源代码) hands its text to the schema as it is: its <h1> too. This runs
// before the dialog's own click handler reads the text (a listener capturing on the document). The
// schema then drops what it cannot hold, silently: the editor is told what, once it has applied it.
document.addEventListener(
  "click",
  (event) => {
    const button = event.target.closest?.("dialog.prose-editor-dialog button[type=submit]")
    const source = button?.form?.querySelector("textarea[name=html]")
    if (!source) return
    const document = new DOMParser().parseFromString(source.value, "text/html")
    if (document.body.querySelector("h1")) {
      headingsBelowTitle(document.body)
      source.value = document.body.innerHTML
    }
    // The dialog sits beside the editor's own element, which Tiptap gives its editor as .editor
    // (the menu's pickers are .ProseMirror too, further down).
    const holder = button.closest("dialog").parentElement.parentElement
    const editor = holder.querySelector(":scope > .ProseMirror")?.editor
    const wrapper = button.closest(".prose-editor")
    const typed = source.value
    // The dialog's handler sets the content in a promise's callback: done before a timer's turn.
    if (editor && wrapper) setTimeout(() => noticeLeftOut(wrapper, typed, editor.getHTML()))
  },
  true,
)

// ProseMirror opens a pasted slice as deep as it goes, so that its first and last text join the
// paragraph the caret is in; pasted into an empty one, or over everything (全选), a quote around a
// list lost its quote (<blockquote><ul>…: the list alone was kept). With nothing to join, its
// blocks go in whole.
function asBlocksIntoNothing(slice, state) {
  const { $from, from, to } = state.selection
  const everything = from === 0 && to === state.doc.content.size
  const intoNothing = everything || ($from.parent.isTextblock && $from.parent.content.size === 0)
  if (!intoNothing || !(slice.openStart || slice.openEnd) || !slice.content.firstChild?.isBlock) return slice
  return new slice.constructor(slice.content, 0, 0)
}

// A paste is cleaned (cleanPastedHTML), then the schema drops what it cannot hold, silently: a
// screenshot's data: image, the link around a picture, a <dl>. The editor is told what, as the
// source dialog tells it, from what was pasted and what the paste kept.
export const OfficePaste = Extension.create({
  name: "officePaste",

  addProseMirrorPlugins() {
    let pasted = null
    return [
      new Plugin({
        props: {
          transformPastedHTML(html) {
            pasted = cleanPastedHTML(html)
            return pasted
          },
          transformPasted(slice, view) {
            // Plain text pastes come without HTML: nothing of theirs can be left out.
            const wrapper = view.dom.closest(".prose-editor")
            if (pasted !== null && wrapper) {
              noticeLeftOut(wrapper, pasted, getHTMLFromFragment(slice.content, view.state.schema))
            }
            pasted = null
            return asBlocksIntoNothing(slice, view.state)
          },
        },
      }),
    ]
  },
})
