;;; eglot.el --- drives Emacs eglot against the real packer server  -*- lexical-binding: t; -*-

;; Drives eglot (Debian's elpa-eglot 1.9 on Emacs 28) against the real packer server on a copy of the
;; example project and writes what it saw to a JSON file.  Run by eglot.test.ts as
;; `emacs --batch -l eglot.el'; every wait is bounded.

(require 'package)
(package-initialize)
(require 'eglot)
(require 'json)
(require 'cl-lib)

(defvar packer-project (file-name-as-directory (getenv "PACKER_PROJECT")))
(defvar packer-server (getenv "PACKER_SERVER"))
(defvar packer-out (getenv "PACKER_OUT"))
(defvar packer-file (expand-file-name "assets/levels/cave/map/asset.json" packer-project))
(defvar packer-wait 15.0)

(defvar packer-observed (list :steps nil :logMessages nil :errors nil))
(defvar packer-published nil "The newest publishDiagnostics params for the file, as received.")
(defvar packer-coin-file (expand-file-name "assets/sfx/coin/asset.json" packer-project))
(defvar packer-coin-published nil "The newest publishDiagnostics params for the coin's asset.json.")

;; The example copy is no VC checkout: tell project.el that it is one project.
(add-hook 'project-find-functions
          (lambda (dir)
            (when (file-in-directory-p dir packer-project) (cons 'transient packer-project))))
(setq eglot-server-programs `((js-mode . ("node" ,packer-server "--stdio"))))
(setq eglot-sync-connect packer-wait)

(advice-add 'eglot-handle-notification :before
            (lambda (_server method &rest params)
              (cond ((and (eq method 'textDocument/publishDiagnostics)
                          (equal (expand-file-name (eglot--uri-to-path (plist-get params :uri))) packer-file))
                     (setq packer-published params))
                    ((and (eq method 'textDocument/publishDiagnostics)
                          (equal (expand-file-name (eglot--uri-to-path (plist-get params :uri))) packer-coin-file))
                     (setq packer-coin-published params))
                    ((eq method 'window/logMessage)
                     (push (plist-get params :message) (plist-get packer-observed :logMessages))))))

(defun packer-codes (&optional published)
  "The codes and sources of the diagnostics last published for the file (or in PUBLISHED)."
  (cl-loop for diagnostic across (or (plist-get (or published packer-published) :diagnostics) [])
           collect (list :code (plist-get diagnostic :code)
                         :source (plist-get diagnostic :source)
                         :line (plist-get (plist-get (plist-get diagnostic :range) :start) :line))))

(defun packer-wait-until (condition)
  "Processes input until CONDITION holds or the wait runs out; returns whether it held."
  (let ((deadline (+ (float-time) packer-wait)))
    (while (and (not (funcall condition)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (and (funcall condition) t)))

(defun packer-step (name condition &optional published)
  "Waits for CONDITION and records the step with the diagnostics of the file (or of PUBLISHED's symbol)."
  (let ((met (packer-wait-until condition)))
    (setf (plist-get packer-observed :steps)
          (append (plist-get packer-observed :steps)
                  (list (list :name name :met (if met t :json-false)
                              :diagnostics (vconcat (packer-codes (and published (symbol-value published))))))))
    met))

(defun packer-replace (from to)
  "Replaces FROM by TO in the buffer (unsaved) and sends the change as eglot's idle timer would."
  (goto-char (point-min))
  (search-forward from)
  (replace-match to t t)
  (eglot--signal-textDocument/didChange))

(defun packer-finish ()
  ;; Lists of plists become JSON arrays only as vectors.
  (dolist (key '(:steps :logMessages :errors))
    (setf (plist-get packer-observed key) (vconcat (plist-get packer-observed key))))
  (with-temp-file packer-out
    (insert (json-encode packer-observed)))
  (kill-emacs 0))

(condition-case failure
    (progn
      (find-file packer-file)
      (js-mode)
      ;; What `eglot-ensure' does on the next command (there is none in batch mode).
      (apply #'eglot--connect (eglot--guess-contact))
      (unless (packer-wait-until (lambda () (eglot-current-server)))
        (error "eglot did not connect"))
      (let* ((server (eglot-current-server))
             (process (jsonrpc--process server)))
        (packer-step "broken on open" (lambda () (> (length (packer-codes)) 0)))
        (packer-replace "\"enabeld\"" "\"enabled\"")
        (packer-step "fixed in the buffer" (lambda () (= (length (packer-codes)) 0)))
        (packer-replace "\"enabled\"" "\"enabeld\"")
        (packer-step "broken again" (lambda () (> (length (packer-codes)) 0)))
        ;; Hover on the name: the asset's identity.
        (goto-char (point-min))
        (search-forward "\"name\"")
        (let ((hover (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams))))
          (setf (plist-get packer-observed :hover) (plist-get (plist-get hover :contents) :value)))
        ;; Completion inside the value of type: the asset types.
        (goto-char (point-min))
        (search-forward "\"type\": \"b")
        (let ((items (jsonrpc-request server :textDocument/completion (eglot--TextDocumentPositionParams))))
          (setf (plist-get packer-observed :completion)
                (vconcat (cl-loop for item across (if (vectorp items) items (plist-get items :items))
                                  collect (plist-get item :label)))))
        ;; A code action on an unregistered asset applies the packer's safe fix (register), the way
        ;; `eglot-code-actions' runs a chosen action: its edit, then its command.
        (find-file packer-coin-file)
        (js-mode)
        (packer-step "unregistered coin" (lambda () (> (length (packer-codes packer-coin-published)) 0))
                     'packer-coin-published)
        (setf (plist-get packer-observed :coinDiagnostics)
              (vconcat (mapcar (lambda (d) (plist-get d :code)) (packer-codes packer-coin-published))))
        (goto-char (point-min))
        (search-forward "asset_uuid")
        (let* ((actions (eglot-code-actions (line-beginning-position) (line-end-position)))
               (chosen (car actions)))
          (setf (plist-get packer-observed :codeActions)
                (vconcat (mapcar (lambda (action) (plist-get action :title)) actions)))
          (when chosen
            (when (plist-get chosen :edit) (eglot--apply-workspace-edit (plist-get chosen :edit)))
            (let ((command (plist-get chosen :command)))
              (when command
                (eglot-execute-command server (intern (plist-get command :command))
                                       (plist-get command :arguments))))))
        (packer-step "coin registered" (lambda () (= (length (packer-codes packer-coin-published)) 0))
                     'packer-coin-published)
        (setf (plist-get packer-observed :registeredOnDisk)
              (if (with-temp-buffer
                    (insert-file-contents (expand-file-name "assets/.prometeu/index.json" packer-project))
                    (search-forward "\"sfx/coin\"" nil t))
                  t :json-false))
        (set-buffer (find-buffer-visiting packer-file))
        (setf (plist-get packer-observed :modified) (if (buffer-modified-p) t :json-false))
        ;; What `eglot-shutdown' sends (shutdown and exit, both with null params), without the
        ;; `delete-process' jsonrpc.el does right after: the server must exit by itself, with 0.
        (setf (eglot--shutdown-requested server) t)
        (jsonrpc-request server :shutdown nil :timeout packer-wait)
        (jsonrpc-notify server :exit nil)
        (packer-wait-until (lambda () (not (process-live-p process))))
        (setf (plist-get packer-observed :exit)
              (list :live (if (process-live-p process) t :json-false)
                    :status (symbol-name (process-status process))
                    :code (process-exit-status process)))))
  (error (setf (plist-get packer-observed :errors) (list (error-message-string failure)))))
(packer-finish)

;;; eglot.el ends here
