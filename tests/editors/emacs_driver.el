;;; emacs_driver.el --- drive Eglot + editors/emacs against codeshell-lsp in batch  -*- lexical-binding: t; -*-

;; Loaded after editors/emacs/codeshell-lsp.el.  Opens $CODESHELL_TEST_FILE, connects
;; Eglot, asks the server directly for the completion at the end of line 2, then runs
;; `completion-at-point' there as a user would, and writes what it saw to
;; $CODESHELL_TEST_OUT as JSON for test_emacs.py to judge.

(require 'json)

(defvar driver-out (list :steps nil))

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

(condition-case err
    (progn (driver-main) (driver-finish nil))
  (error (driver-finish (error-message-string err))))

;;; emacs_driver.el ends here
