;;; emacs_driver.el --- drive Eglot + editors/emacs against codeshell-lsp in batch  -*- lexical-binding: t; -*-

;; Loaded after editors/emacs/codeshell-lsp.el.  Opens $CODESHELL_TEST_FILE, connects
;; Eglot, asks the server directly for the completion at the end of line 2, then runs
;; `completion-at-point' there as a user would, and writes what it saw to
;; $CODESHELL_TEST_OUT as JSON for test_emacs.py to judge.

(require 'json)

(defvar driver-out (list :steps nil))

;; Wait for the server as long as a busy machine needs (the default is 3 s).
(setq eglot-sync-connect 30)

(defun driver-finish (&optional error)
  (setq driver-out (plist-put driver-out :error error))
  (with-temp-file (getenv "CODESHELL_TEST_OUT")
    (let ((json-encoding-pretty-print nil))
      (insert (json-encode driver-out))))
  (kill-emacs 0))

(defun driver-buffer-text ()
  (buffer-substring-no-properties (point-min) (point-max)))

(defun driver-main ()
  ;; What a user puts in the init file.
  (setq codeshell-lsp-model (getenv "CODESHELL_TEST_MODEL"))
  (setq codeshell-lsp-options '(:model (:threads 1) :completion (:maxTokens 16)))
  (find-file (getenv "CODESHELL_TEST_FILE"))
  (setq driver-out (plist-put driver-out :major_mode (symbol-name major-mode)))
  (apply #'eglot (eglot--guess-contact))
  (let ((server (eglot-current-server)))
    (unless (and server (jsonrpc-running-p server))
      (error "eglot did not connect"))
    (setq driver-out (plist-put driver-out :emacs emacs-version))
    (setq driver-out (plist-put driver-out :eglot (if (boundp 'eglot-version) eglot-version "1.9")))
    (setq driver-out (plist-put driver-out :server (plist-get (eglot--server-info server) :name)))
    (setq driver-out (plist-put driver-out :init_options (codeshell-lsp-initialization-options server)))
    ;; The server's own answer at the end of line 2, asked directly.
    (goto-char (point-min))
    (forward-line 1)
    (end-of-line)
    (let ((start (point))
          (direct (jsonrpc-request server :textDocument/completion (eglot--CompletionParams)))
          (before (driver-buffer-text)))
      (setq driver-out (plist-put driver-out :direct direct))
      ;; What the user does: C-M-i.
      (completion-at-point)
      (setq driver-out
            (plist-put driver-out :capf
                       (list :before before
                             :after (driver-buffer-text)
                             :start_point start
                             :point (point)
                             :line (line-number-at-pos)
                             :column (current-column)))))
    (setq driver-out (plist-put driver-out :stats (codeshell-lsp-stats)))
    (eglot-shutdown server)))

(defun driver-setup ()
  (setq codeshell-lsp-model (getenv "CODESHELL_TEST_MODEL"))
  (setq codeshell-lsp-options '(:model (:threads 1) :completion (:maxTokens 16)))
  (find-file (getenv "CODESHELL_TEST_FILE"))
  (goto-char (point-min))
  (forward-line 1)
  (end-of-line))

(defun driver-early ()
  "C-M-i before the server is up (its command sleeps first, Eglot connects in the background)."
  (add-to-list 'eglot-server-programs
               `(python-mode ,(getenv "CODESHELL_TEST_SLOW_CMD") "serve" "--stdio"
                             :initializationOptions codeshell-lsp-initialization-options))
  (driver-setup)
  (let ((eglot-sync-connect nil)
        (before (driver-buffer-text))
        (deadline (+ (float-time) 30)))
    (apply #'eglot (eglot--guess-contact))
    (setq driver-out (plist-put driver-out :typed_before_ready (not (codeshell-lsp--server))))
    (setq driver-out (plist-put driver-out :keys (key-description (where-is-internal #'codeshell-lsp-complete nil t))))
    (call-interactively #'codeshell-lsp-complete)
    (while (and (equal before (driver-buffer-text)) (< (float-time) deadline))
      (accept-process-output nil 0.1))
    (setq driver-out (plist-put driver-out :early (list :before before :after (driver-buffer-text))))
    (setq driver-out (plist-put driver-out :stats (codeshell-lsp-stats)))
    (eglot-shutdown (eglot-current-server))))

(defun driver-bare ()
  "The README's setup as it is, no model setting anywhere: type at the end of the file, C-M-i."
  ;; A cold real model on a busy machine answers the first request in more than 10 s.
  (setq jsonrpc-default-request-timeout 90)
  (find-file (getenv "CODESHELL_TEST_FILE"))
  (goto-char (point-max))
  (insert (getenv "CODESHELL_TEST_TYPE"))
  (apply #'eglot (eglot--guess-contact))
  (let ((server (eglot-current-server))
        (before (driver-buffer-text)))
    (setq driver-out (plist-put driver-out :init_options (codeshell-lsp-initialization-options server)))
    (setq driver-out (plist-put driver-out :keys (key-description (where-is-internal #'codeshell-lsp-complete nil t))))
    (execute-kbd-macro (kbd "C-M-i"))
    (setq driver-out (plist-put driver-out :bare (list :before before :after (driver-buffer-text))))
    (setq driver-out (plist-put driver-out :stats (codeshell-lsp-stats)))
    (eglot-shutdown server)))

(defun driver-partial ()
  "C-c <right> then C-c <down>: the next word, then the next line of the suggestion."
  (driver-setup)
  (apply #'eglot (eglot--guess-contact))
  (let ((before (driver-buffer-text)))
    (call-interactively #'codeshell-lsp-accept-word)
    (let ((word (driver-buffer-text)))
      (call-interactively #'codeshell-lsp-accept-line)
      (setq driver-out (plist-put driver-out :partial
                                  (list :before before :word word :line (driver-buffer-text)
                                        :word_key (key-description (where-is-internal #'codeshell-lsp-accept-word nil t))
                                        :line_key (key-description (where-is-internal #'codeshell-lsp-accept-line nil t)))))))
  (setq driver-out (plist-put driver-out :stats (codeshell-lsp-stats)))
  (eglot-shutdown (eglot-current-server)))

(defun driver-workspace ()
  "The file's project (project.el: its git repository) is Eglot's workspace folder, with
the settings a user puts in `codeshell-lsp-options' ($CODESHELL_TEST_SETTINGS): once the
server has indexed it, type at the end of the file and C-M-i."
  (setq codeshell-lsp-options (let ((json-object-type 'plist)) (json-read-from-string (getenv "CODESHELL_TEST_SETTINGS"))))
  (find-file (getenv "CODESHELL_TEST_FILE"))
  (apply #'eglot (eglot--guess-contact))
  (let ((server (eglot-current-server))
        (deadline (+ (float-time) 30)))
    (setq driver-out (plist-put driver-out :root (expand-file-name (project-root (eglot--project server)))))
    (while (and (not (eq t (plist-get (codeshell-lsp-stats) :workspaceIndexed))) (< (float-time) deadline))
      (accept-process-output nil 0.1))
    (goto-char (point-max))
    (insert (getenv "CODESHELL_TEST_TYPE"))
    (setq driver-out (plist-put driver-out :typed (driver-buffer-text)))
    (execute-kbd-macro (kbd "C-M-i"))
    (setq driver-out (plist-put driver-out :stats (codeshell-lsp-stats)))
    (eglot-shutdown server)))

(condition-case err
    (progn
      (pcase (getenv "CODESHELL_TEST_SCENARIO")
        ("early" (driver-early))
        ("partial" (driver-partial))
        ("bare" (driver-bare))
        ("workspace" (driver-workspace))
        (_ (driver-main)))
      (driver-finish nil))
  (error (driver-finish (error-message-string err))))

;;; emacs_driver.el ends here
