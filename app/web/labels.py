"""The page's interface text in English and Chinese (the browser's language chooses)."""

from __future__ import annotations

import gradio as gr

__all__ = ["LABELS"]

EN = {
    "title": "## 🔥 Hearth — private, guarded chat with your documents",
    "guard_missing": "> ⚠️ **Llama Guard is missing.** No Llama Guard model is installed, so turns are checked by "
                     "the keyword filter only. Run `hearth models pull llama-guard-3-1b` (needs internet) or set "
                     "HEARTH_GUARD_MODEL.",
    "tab_chat": "Chat", "tab_documents": "Documents", "tab_settings": "Settings",
    "chat": "Chat", "ask_placeholder": "Ask a question about your documents…", "ask": "Ask", "stop": "Stop",
    "new_chat": "New conversation", "export": "Export as Markdown", "export_file": "Exported conversation",
    "scope": "Ask only about these documents (empty: all)", "search_only": "Search only (passages, no model)",
    "checks": "What the checks decided", "drop": "Drop PDFs, TXT or Markdown here (several at once)",
    "collection": "Collection (type a new name to start one)", "documents": "Documents",
    "remove_choose": "Documents to remove", "remove": "Remove", "temperature": "Temperature",
    "top_k": "Passages per question (top-k)", "model": "Chat model (name or .gguf path)",
    "gpu_layers": "GPU layers (empty: automatic, -1 all, 0 none)", "apply": "Apply",
    "threshold": "Llama Guard threshold (block at P(unsafe) ≥)",
    "words_help": "**Word lists**: your own keyword lists, checked on every question and answer "
                  "(one list per category; `allow` holds phrases that override a match).",
    "word_list": "List (category)", "word_term": "Term", "add": "Add", "word_lists": "Your word lists",
    "empty_question": "Type a question first.",
    "blocked_turns": "Blocked turns (audit log, newest first)", "refresh": "Refresh",
}

ZH = {
    "title": "## 🔥 Hearth — 私密、受防护的文档问答",
    "guard_missing": "> ⚠️ **缺少 Llama Guard。** 尚未安装 Llama Guard 模型，目前只用关键词过滤检查每一轮对话。"
                     "请运行 `hearth models pull llama-guard-3-1b`（需要联网）或设置 HEARTH_GUARD_MODEL。",
    "tab_chat": "对话", "tab_documents": "文档", "tab_settings": "设置",
    "chat": "对话", "ask_placeholder": "就您的文档提问…", "ask": "提问", "stop": "停止",
    "new_chat": "新对话", "export": "导出为 Markdown", "export_file": "导出的对话",
    "scope": "只问这些文档（留空：全部）", "search_only": "仅搜索（显示段落，不调用模型）",
    "checks": "检查结果", "drop": "把 PDF、TXT 或 Markdown 文件拖到这里（可多个）",
    "collection": "文档集（输入新名称即可新建）", "documents": "文档",
    "remove_choose": "要删除的文档", "remove": "删除", "temperature": "温度",
    "top_k": "每个问题检索的段落数（top-k）", "model": "对话模型（名称或 .gguf 路径）",
    "gpu_layers": "GPU 层数（留空：自动，-1 全部，0 不用）", "apply": "应用",
    "threshold": "Llama Guard 阈值（P(unsafe) ≥ 此值即拦截）",
    "words_help": "**词表**：您自己的关键词列表，每个问题和回答都会检查（每个类别一个列表；`allow` 中的短语可豁免匹配）。",
    "word_list": "列表（类别）", "word_term": "词语", "add": "添加", "word_lists": "您的词表",
    "empty_question": "请先输入问题。",
    "blocked_turns": "被拦截的对话（审计日志，最新在前）", "refresh": "刷新",
}


class Labels:
    def __init__(self):
        self.i18n = gr.I18n(en=EN, zh=ZH)

    def get(self, key: str, lang: str = "en") -> str:
        return (ZH if lang == "zh" else EN)[key]


LABELS = Labels()
