;;; codeshell-lsp.el --- Eglot setup for codeshell-lsp  -*- lexical-binding: t; -*-

;; Local AI code completion from a CodeShell GGUF model, through Eglot (Emacs >= 28,
;; Eglot >= 1.9) and plain `completion-at-point'; Company and Corfu use the same
;; capf, so they need nothing more.
;;
;; Use: put this file on your `load-path' and add to your init file
;;
;;   (require 'codeshell-lsp)
;;   (setq codeshell-lsp-model "~/models/codeshell-7b-chat-q4_0.gguf") ; optional (else the user config's)
;;   (add-hook 'python-mode-hook #'eglot-ensure)                        ; optional
;;
;; or copy the two forms marked "the setup" below.  Then `M-x eglot' in a buffer of
;; one of `codeshell-lsp-modes', and C-M-i for a suggestion (`codeshell-lsp-complete':
;; asked before the server is up, the suggestion comes when it is).  C-c <right> inserts
;; only the next word of the suggestion, C-c <down> its next line.
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
  "GGUF model file or model name (\"gemma\", \"embedded\"); nil: $CODESHELL_LSP_MODEL, then
the user config's (`codeshell-lsp models install gemma --default'), then the model shipped
with the server."
  :type '(choice (const :tag "Server default" nil) file (string :tag "Model name")))

(defcustom codeshell-lsp-options nil
  "Other settings sent as initializationOptions, as a plist of the README's settings tree,
e.g. '(:completion (:maxTokens 64)).  They go over the user config file
(~/.config/codeshell-lsp/config.toml): set here only what Emacs should do differently.
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
                                          :path (if (string-match-p "/" codeshell-lsp-model)
                                                    (expand-file-name codeshell-lsp-model)
                                                  codeshell-lsp-model)))))
    (or options eglot--{})))

;; The setup: Eglot starts codeshell-lsp for these modes with these options.
(add-to-list 'eglot-server-programs
             `(,codeshell-lsp-modes
               . (,@codeshell-lsp-command
                  :initializationOptions codeshell-lsp-initialization-options)))

(defun codeshell-lsp--server ()
  "The Eglot server of this buffer once it is connected, else nil."
  (and (bound-and-true-p eglot--managed-mode) (eglot-current-server)))

;; Acceptance statistics go to the local server only (counted in codeshell/stats).
(defun codeshell-lsp--tell (method &rest params)
  (when-let ((server (codeshell-lsp--server))
              (file (buffer-file-name)))
    (jsonrpc-notify server method (apply #'list :uri (eglot--path-to-uri file) params))))

(defvar-local codeshell-lsp--pending nil
  "Point marker and buffer tick where a suggestion was asked for before the server was up.")

(defun codeshell-lsp-complete ()
  "Insert the suggestion at point (`completion-at-point' through Eglot).
Asked before the server is up, the suggestion comes once it is, if point and text
have not changed in between."
  (interactive)
  (if (not (codeshell-lsp--server))
      (progn
        (setq codeshell-lsp--pending (list (point-marker) (buffer-chars-modified-tick)))
        (message "codeshell-lsp: starting; the suggestion comes when the server is up"))
    (let ((start (point))
          (tick (buffer-chars-modified-tick)))
      (completion-at-point)
      (when (and (/= tick (buffer-chars-modified-tick)) (> (point) start))
        (let ((text (buffer-substring-no-properties start (point))))
          (codeshell-lsp--tell :codeshell/didShowCompletion :text text)
          (codeshell-lsp--tell :codeshell/didAcceptCompletion :text text))))))

(defun codeshell-lsp--complete-pending ()
  "On `eglot-managed-mode-hook': answer a `codeshell-lsp-complete' asked while starting."
  (when-let ((pending (and (codeshell-lsp--server) codeshell-lsp--pending)))
    (setq codeshell-lsp--pending nil)
    (when (and (eq (marker-buffer (car pending)) (current-buffer))
               (= (marker-position (car pending)) (point))
               (= (cadr pending) (buffer-chars-modified-tick)))
      (run-at-time 0 nil (lambda (buffer)
                           (when (buffer-live-p buffer)
                             (with-current-buffer buffer (codeshell-lsp-complete))))
                   (current-buffer)))))

(add-hook 'eglot-managed-mode-hook #'codeshell-lsp--complete-pending)

(defvar-local codeshell-lsp--showing nil
  "The suggestion being taken in parts: (TEXT . DONE), DONE its characters inserted so far.")

(defun codeshell-lsp--suggestion ()
  "The server's suggestion at point, after the word already typed (a string, maybe empty)."
  (let* ((server (or (codeshell-lsp--server) (user-error "codeshell-lsp: not connected yet")))
         (answer (jsonrpc-request server :textDocument/completion (eglot--CompletionParams)))
         (item (car (append (plist-get answer :items) nil)))
         (edit (plist-get item :textEdit))
         (new (or (plist-get edit :newText) ""))
         (start (eglot--lsp-position-to-point (plist-get (plist-get edit :range) :start)))
         (typed (buffer-substring-no-properties (min start (point)) (point))))
    (if (string-prefix-p typed new) (substring new (length typed)) "")))

(defun codeshell-lsp--accept-part (regexp)
  (let* ((rest (codeshell-lsp--suggestion))
         (piece (and (string-match regexp rest) (match-string 0 rest))))
    (if (not (and piece (> (length piece) 0)))
        (message "codeshell-lsp: no suggestion here")
      (let ((current codeshell-lsp--showing))
        (unless (and current (equal (substring (car current) (cdr current)) rest))
          (setq current (cons rest 0))
          (codeshell-lsp--tell :codeshell/didShowCompletion :text rest))
        (insert piece)
        (setq codeshell-lsp--showing (cons (car current) (+ (cdr current) (length piece))))
        (codeshell-lsp--tell :codeshell/didPartiallyAcceptCompletion
                             :text (car current) :acceptedLength (length piece))))))

(defun codeshell-lsp-accept-word ()
  "Insert the next word of the suggestion at point (again for the word after)."
  (interactive)
  (codeshell-lsp--accept-part "\\`[ \t]*\\(?:\\sw\\|\\s_\\)+\\|\\`[ \t]*[^ \t\n]\\|\\`\n"))

(defun codeshell-lsp-accept-line ()
  "Insert the rest of the current line of the suggestion at point (again for the next)."
  (interactive)
  (codeshell-lsp--accept-part "\\`\n?[^\n]*"))

(defvar codeshell-lsp-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map [remap completion-at-point] #'codeshell-lsp-complete)
    (define-key map (kbd "C-c <right>") #'codeshell-lsp-accept-word)
    (define-key map (kbd "C-c <down>") #'codeshell-lsp-accept-line)
    map)
  "Keys of `codeshell-lsp-mode'.")

(define-minor-mode codeshell-lsp-mode
  "Keys for codeshell-lsp suggestions: C-M-i the whole suggestion, C-c <right> its next
word, C-c <down> its next line."
  :keymap codeshell-lsp-mode-map)

;; The setup (continued): the keys in every buffer of these modes.
(dolist (mode codeshell-lsp-modes)
  (add-hook (intern (format "%s-hook" mode)) #'codeshell-lsp-mode))

(defun codeshell-lsp-stats ()
  "Show the server's `codeshell/stats' counters in the echo area."
  (interactive)
  (let ((stats (jsonrpc-request (eglot--current-server-or-lose) :codeshell/stats nil)))
    (message "codeshell-lsp: %S" stats)
    stats))

(provide 'codeshell-lsp)
;;; codeshell-lsp.el ends here
