"""Every text the page shows, in English and Chinese: one table per language (the browser's language chooses).

Keys name roles. gr.I18n serves the table to the page's own components; t(lang, key) gives the same text to
what the handlers write (answers, checks, errors). Placeholders in {braces} are filled by t().
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["EN", "ZH", "t", "lang_from", "i18n"]

EN = {
    # the page's components
    "title": "## 🔥 Hearth — private, guarded chat with your documents",
    "guard_missing": "> ⚠️ **Llama Guard is missing.** No Llama Guard model is installed, so turns are checked by "
                     "the keyword filter only.",
    "guard_missing_how": "Run `hearth models pull llama-guard-3-1b` (needs internet) or set HEARTH_GUARD_MODEL.",
    "guard_install_help": "Install it here in one click (needs internet once); it checks every turn as soon as it "
                          "is in, no restart. Offline: add a Llama Guard GGUF under Models → Add.",
    "guard_strict": "**require_llama_guard is on: every turn is blocked until a guard model is in.**",
    "install_guard": "Install Llama Guard 3 1B (about 1 GB)", "cancel_download": "Cancel download",
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
    "blocked_turns": "Blocked turns (audit log, newest first)", "refresh": "Refresh",
    "source_preview": "Source preview (the page with the passage highlighted)",
    # what the handlers write
    "empty_question": "Type a question first.",
    "choose_to_remove": "Choose the documents to remove first.",
    "nothing_to_export": "Nothing to export yet: ask a question first.",
    "bad_gpu_layers": "GPU layers must be a whole number (-1 all, 0 none) or empty; got {value!r}.",
    "removed": "Removed {files}.", "no_such_document": "No such document.",
    "threshold_set": "Llama Guard blocks at P(unsafe) ≥ {value:.2f}.",
    "loading": "⏳ Loading {name}… ({step}/{total}); you can add documents already.", "models": "models",
    "ready": "✅ Ready: {model} ({offload})", "load_failed": "⛔ Loading failed ({error}). Check `hearth doctor`.",
    "writing": "_writing… {tokens} tokens; each piece is checked before it is shown_",
    "sources": "Sources", "consulted": "Sources consulted (the answer cites none by number)",
    "closest": "The closest passages (none of them answers the question)",
    "empty": "_(empty answer)_", "stopped": "_(stopped)_",
    "question": "question", "answer": "answer",
    "why": "Why", "categories": "categories", "score": "score",
    "blocked_help": "Rephrase the question. If this is a false alarm, the keyword lists can be edited under "
                    "Settings → Word lists.",
    "passages": "Matching passages (search only, no model)", "no_passages": "No matching passages.",
    "indexed": "indexed", "unchanged": "already indexed", "failed": "failed",
    "pages": "pages", "chunks": "chunks", "page_n": "page {page}",
    "not_in_sources": "not in the sources", "figures_found": "Figures found in the sources",
    "evidence": "What the sources say (lines with the figures asked about)",
    "preview_of": "**{file}**, page {page}.",
    "preview_unmarked": "The passage was not found in this page's text (a scanned page keeps no text boxes); "
                        "the page is shown as it is.",
    # installing models (the first-run banner and the Models tab)
    "install_chat": "Install and use {name} ({size})",
    "chat_offer": "**A better chat model for this machine: {name}** ({reason}). The built-in SmolLM2-135M answers "
                  "until it is in.",
    "install_starting": "**{name}**: starting…",
    "progress": "**{name}**: {done:,.0f} of {total:,.0f} MiB{pct}, {speed:.1f} MiB/s{eta}",
    "eta": ", about {s:.0f} s left",
    "installed_guard": "✅ **{name}** is installed and checks every turn from now on.",
    "installed_chat": "✅ **{name}** is installed and answers from the next question on.",
    "installed_unused": "**{name}** is installed ({path}); press Use to switch to it.",
    "installed_refused": "**{name}** is installed, but {note}",
    "cancelling": "Cancelling {names}; what arrived is kept and Install resumes it.",
    "nothing_to_cancel": "No download of that model is under way.",
    "choose_model": "Choose a model first.", "drop_gguf": "Drop a .gguf file first.",
    "now_using": "Now using {name} as the {kind} model.", "added": "added {name} ({kind})",
    "tab_models": "Models", "model_choice": "Model", "install": "Install", "cancel": "Cancel", "use": "Use",
    "add_gguf": "Add a GGUF from this computer (offline)", "is_guard": "It is a guard model",
    "machine": "**This machine**: {cores} CPU cores, {ram:.0f} GiB RAM; GPUs: {gpus}; GPU offload: {offload}",
    "gpu_free": "{name} ({free} of {total} GiB free)", "none": "none", "yes": "yes", "no": "no",
    "offload_no": "no (this llama.cpp build runs on the CPU only)",
    "h_model": "Model", "h_kind": "Kind", "h_size": "Size", "h_installed": "Installed", "h_in_use": "In use",
    "h_fits": "Fits here", "h_why": "Why", "h_recommended": "Recommended",
    "kind_chat": "chat", "kind_guard": "guard", "kind_embedding": "embedding",
}

ZH = {
    "title": "## 🔥 Hearth — 私密、受防护的文档问答",
    "guard_missing": "> ⚠️ **缺少 Llama Guard。** 尚未安装 Llama Guard 模型，目前只用关键词过滤检查每一轮对话。",
    "guard_missing_how": "请运行 `hearth models pull llama-guard-3-1b`（需要联网）或设置 HEARTH_GUARD_MODEL。",
    "guard_install_help": "可在此一键安装（只需联网一次）；装好后立即检查每一轮对话，无需重启。离线时请在“模型 → 添加”中导入 "
                          "Llama Guard 的 GGUF 文件。中文内容更适合用 Qwen3Guard，可在“模型”页安装。",
    "guard_strict": "**已开启 require_llama_guard：在装好防护模型之前，每一轮对话都会被拦截。**",
    "install_guard": "安装 Llama Guard 3 1B（约 1 GB）", "cancel_download": "取消下载",
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
    "blocked_turns": "被拦截的对话（审计日志，最新在前）", "refresh": "刷新",
    "source_preview": "来源预览（高亮显示段落所在的页面）",
    "empty_question": "请先输入问题。",
    "choose_to_remove": "请先选择要删除的文档。",
    "nothing_to_export": "还没有可导出的内容：请先提问。",
    "bad_gpu_layers": "GPU 层数必须是整数（-1 全部，0 不用）或留空；收到 {value!r}。",
    "removed": "已删除 {files}。", "no_such_document": "没有这个文档。",
    "threshold_set": "Llama Guard 在 P(unsafe) ≥ {value:.2f} 时拦截。",
    "loading": "⏳ 正在加载 {name}…（{step}/{total}）；现在已可添加文档。", "models": "模型",
    "ready": "✅ 就绪：{model}（{offload}）", "load_failed": "⛔ 加载失败（{error}）。请运行 `hearth doctor` 检查。",
    "writing": "_正在生成… 已有 {tokens} 个词元；每一段都先通过检查再显示_",
    "sources": "来源", "consulted": "参考的来源（回答未按编号引用）",
    "closest": "最接近的段落（都不能回答这个问题）",
    "empty": "_（空回答）_", "stopped": "_（已停止）_",
    "question": "问题", "answer": "回答",
    "why": "原因", "categories": "类别", "score": "分数",
    "blocked_help": "请换一种问法。如属误判，可在“设置 → 词表”中编辑关键词列表。",
    "passages": "匹配的段落（仅搜索，不调用模型）", "no_passages": "没有匹配的段落。",
    "indexed": "已索引", "unchanged": "已在索引中", "failed": "失败",
    "pages": "页", "chunks": "段", "page_n": "第 {page} 页",
    "not_in_sources": "来源中没有", "figures_found": "来源中找到的数字",
    "evidence": "来源原文（含所问数字的行）",
    "preview_of": "**{file}**，第 {page} 页。",
    "preview_unmarked": "未在本页文字中找到该段落（扫描页不保留文字位置），页面按原样显示。",
    "install_chat": "安装并使用 {name}（{size}）",
    "chat_offer": "**更适合本机的对话模型：{name}**（{reason}）。安装好之前，仍由内置的 SmolLM2-135M 回答。",
    "install_starting": "**{name}**：正在开始…",
    "progress": "**{name}**：已下载 {done:,.0f} / {total:,.0f} MiB{pct}，{speed:.1f} MiB/秒{eta}",
    "eta": "，约剩 {s:.0f} 秒",
    "installed_guard": "✅ **{name}** 已安装，从现在起检查每一轮对话。",
    "installed_chat": "✅ **{name}** 已安装，从下一个问题起由它回答。",
    "installed_unused": "**{name}** 已安装（{path}）；按“使用”即可切换到它。",
    "installed_refused": "**{name}** 已安装，但 {note}",
    "cancelling": "正在取消 {names}；已下载的部分会保留，再次安装时从断点继续。",
    "nothing_to_cancel": "这个模型没有正在进行的下载。",
    "choose_model": "请先选择一个模型。", "drop_gguf": "请先放入一个 .gguf 文件。",
    "now_using": "现在使用 {name} 作为{kind}模型。", "added": "已添加 {name}（{kind}）",
    "tab_models": "模型", "model_choice": "模型", "install": "安装", "cancel": "取消", "use": "使用",
    "add_gguf": "从本机添加 GGUF 文件（离线）", "is_guard": "这是防护模型",
    "machine": "**本机**：{cores} 个 CPU 核心，{ram:.0f} GiB 内存；GPU：{gpus}；GPU 加速：{offload}",
    "gpu_free": "{name}（{total} GiB 中 {free} GiB 空闲）", "none": "无", "yes": "是", "no": "否",
    "offload_no": "否（此 llama.cpp 版本只在 CPU 上运行）",
    "h_model": "模型", "h_kind": "类型", "h_size": "大小", "h_installed": "已安装", "h_in_use": "使用中",
    "h_fits": "适合本机", "h_why": "原因", "h_recommended": "推荐",
    "kind_chat": "对话", "kind_guard": "防护", "kind_embedding": "向量",
}

_TABLES = {"en": EN, "zh": ZH}


def lang_from(accept_language: str | None) -> str:
    """'zh' for a browser that prefers Chinese, else 'en'."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def t(lang: str, key: str, **kw) -> str:
    """The text of a key in a language (English where the language is unknown), placeholders filled."""
    return _TABLES.get(lang, EN)[key].format(**kw)


@lru_cache(maxsize=1)
def i18n():
    """The tables as Gradio's I18n, for the page's components (Gradio is imported only when the page is built);
    texts with placeholders are the handlers', filled by t(), and stay out."""
    import gradio as gr

    return gr.I18n(**{lang: {k: v for k, v in table.items() if "{" not in v} for lang, table in _TABLES.items()})
