// The body editor (django-prose-editor 0.28) in Chinese. It ships no Chinese catalog: its dialogs
// ask window.gettext (read once, when its module runs, so this classic script must come first),
// and its toolbar's tooltips and block names are English literals, rewritten here as they appear.
(function () {
  "use strict";
  const dialogs = {
    "Cancel": "取消", "Update": "确定", "Insert": "插入", "Edit Link": "编辑链接", "URL": "网址",
    "Title": "标题（鼠标悬停时显示）", "Open in new window": "在新窗口打开", "Insert Table": "插入表格",
    "Rows": "行数", "Columns": "列数", "Include header row": "第一行为表头", "Edit HTML": "编辑 HTML",
    "Yes": "是", "No": "否", "Prettify": "整理格式", "Table Properties": "表格属性", "Toggle fullscreen": "全屏",
    "The HTML contents of the editor. Note that the allowed HTML is restricted by the editor schema.":
      "编辑器中的 HTML。只保留编辑器支持的标签，其余的会被去掉。",
    "List properties": "列表属性", "List type": "列表样式", "Start at": "起始编号", "Bullets": "圆点",
    "Decimal numbers": "数字", "Lowercase letters": "小写字母", "Uppercase letters": "大写字母",
    "Lowercase Roman numerals": "小写罗马数字", "Uppercase Roman numerals": "大写罗马数字",
  };
  const toolbar = {
    "paragraph": "段落格式", "Paragraph": "正文", "Heading 2": "二级标题", "Heading 3": "三级标题",
    "Heading 4": "四级标题", "unordered list": "项目符号列表", "ordered list": "编号列表",
    "List properties": "列表属性", "blockquote": "引用", "horizontal rule": "分隔线", "bold": "加粗",
    "italic": "斜体", "underline": "下划线", "strike": "删除线", "subscript": "下标",
    "superscript": "上标", "insert link": "插入链接", "remove link": "取消链接",
    "Insert table": "插入表格", "Add column": "增加一列", "Delete column": "删除所在列",
    "Add row": "增加一行", "Delete row": "删除所在行", "Merge cells": "合并单元格",
    "Split cell": "拆分单元格", "Toggle header cell": "设为或取消表头", "Delete table": "删除表格",
    "undo": "撤销", "redo": "重做", "edit HTML": "编辑 HTML",
  };

  const djangoGettext = window.gettext || ((text) => text);
  window.gettext = (text) => dialogs[text] || djangoGettext(text);

  function translate(root) {
    for (const element of root.querySelectorAll(".prose-menubar [title], .prose-menubar [aria-label]")) {
      for (const attribute of ["title", "aria-label"]) {
        const chinese = toolbar[element.getAttribute(attribute)];
        if (chinese) element.setAttribute(attribute, chinese);
      }
    }
    // The block-type picker shows each choice as a sample heading or paragraph.
    for (const sample of root.querySelectorAll(".prose-menubar__option > *")) {
      const chinese = toolbar[sample.textContent];
      if (chinese) sample.textContent = chinese;
    }
  }

  // The toolbar is built after this script runs and redrawn as the cursor moves.
  new MutationObserver(() => translate(document)).observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["title", "aria-label"],
  });
})();
