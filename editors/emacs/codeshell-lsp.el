;;; codeshell-lsp.el --- Eglot setup for codeshell-lsp  -*- lexical-binding: t; -*-

;; Local AI code completion from a CodeShell GGUF model, through Eglot (Emacs >= 28,
;; Eglot >= 1.9) and plain `completion-at-point'; Company and Corfu use the same
;; capf, so they need nothing more.
;;
;; Use: put this file on your `load-path' and add to your init file
;;
;;   (require 'codeshell-lsp)
;;   (setq codeshell-lsp-model "~/models/codeshell-7b-chat-q4_0.gguf") ; optional
;;   (add-hook 'python-mode-hook #'eglot-ensure)                        ; optional
;;
;; or copy the two forms marked "the setup" below.  Then `M-x eglot' in a buffer of
;; one of `codeshell-lsp-modes', and `M-x completion-at-point' (C-M-i) for a suggestion.
;;
;; Eglot runs one server per major mode and project: for these modes codeshell-lsp
;; takes the place of any other language server.

;;; Code:

(require 'eglot)

(defgroup codeshell-lsp nil
  "AI code completion through the codeshell-lsp language server."
  :group 'eglot)

(defcustom codeshell-lsp-command '("codeshell-lsp" "serve" "--stdio")
  "The server command and its arguments (add \"--log-file\" \"/tmp/codeshell.log\" \"-v\" to debug)."
  :type '(repeat string))

(defcustom codeshell-lsp-model nil
  "GGUF model file; nil: $CODESHELL_LSP_MODEL, then the model shipped with the server."
  :type '(choice (const :tag "Server default" nil) file))

(defcustom codeshell-lsp-options '(:completion (:maxTokens 64 :multiline "auto"))
  "Other settings sent as initializationOptions, as a plist of the README's settings tree.
`codeshell-lsp-model', when set, is added as :model (:path ...)."
  :type 'plist)

(defcustom codeshell-lsp-modes
  '(python-mode python-ts-mode c-mode c++-mode c-ts-mode c++-ts-mode java-mode
    js-mode js-ts-mode typescript-mode typescript-ts-mode go-mode go-ts-mode
    rust-mode rust-ts-mode sh-mode lua-mode ruby-mode emacs-lisp-mode)
  "Major modes in which Eglot starts codeshell-lsp."
  :type '(repeat symbol))

(defun codeshell-lsp-initialization-options (_server)
  "The initializationOptions object: `codeshell-lsp-options' plus the model path."
  (let ((options (copy-tree codeshell-lsp-options)))
    (when codeshell-lsp-model
      (setq options (plist-put options :model
                               (plist-put (copy-tree (plist-get options :model))
                                          :path (expand-file-name codeshell-lsp-model)))))
    (or options eglot--{})))

;; The setup: Eglot starts codeshell-lsp for these modes with these options.
(add-to-list 'eglot-server-programs
             `(,codeshell-lsp-modes
               . (,@codeshell-lsp-command
                  :initializationOptions codeshell-lsp-initialization-options)))

(defun codeshell-lsp-stats ()
  "Show the server's `codeshell/stats' counters in the echo area."
  (interactive)
  (let ((stats (jsonrpc-request (eglot--current-server-or-lose) :codeshell/stats nil)))
    (message "codeshell-lsp: %S" stats)
    stats))

(provide 'codeshell-lsp)
;;; codeshell-lsp.el ends here
