-- Drives Neovim's built-in LSP client (0.7, Debian's) against the real packer server on a copy of the
-- example project and writes what it saw to a JSON file. Run by neovim.test.ts as
-- `nvim --headless -u NONE -c "luafile neovim.lua"`; every wait is bounded.
local project = os.getenv('PACKER_PROJECT')
local server = os.getenv('PACKER_SERVER')
local out = os.getenv('PACKER_OUT')
local file = project .. '/assets/levels/cave/map/asset.json'
local WAIT = 15000

local observed = { steps = {}, logMessages = {}, errors = {} }

local function finish()
  local handle = io.open(out, 'w')
  handle:write(vim.fn.json_encode(observed))
  handle:close()
  vim.cmd('qa!')
end

local ok, failure = pcall(function()
  local client_id = vim.lsp.start_client({
    name = 'packer',
    cmd = { 'node', server, '--stdio' },
    root_dir = project,
    workspace_folders = { { uri = vim.uri_from_fname(project), name = 'demo-game' } },
    -- Validate each change quickly; Neovim debounces didChange itself.
    init_options = { diagnosticsDelayMs = 20 },
    flags = { debounce_text_changes = 20 },
    handlers = {
      ['window/logMessage'] = function(_, result)
        table.insert(observed.logMessages, result.message)
      end,
      ['window/showMessage'] = function(_, result)
        observed.shownMessages = observed.shownMessages or {}
        table.insert(observed.shownMessages, result.message)
      end,
    },
    on_exit = function(code, signal)
      observed.exit = { code = code, signal = signal }
    end,
  })
  if client_id == nil then
    error('the client did not start')
  end
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local buffer = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(buffer, client_id)

  local function codes(which)
    local found = {}
    for _, diagnostic in ipairs(vim.diagnostic.get(which or buffer)) do
      table.insert(found, { code = diagnostic.code, source = diagnostic.source, line = diagnostic.lnum,
        col = diagnostic.col, endCol = diagnostic.end_col, severity = diagnostic.severity })
    end
    return found
  end
  local function step(name, condition, which)
    local met = vim.wait(WAIT, condition, 10)
    table.insert(observed.steps, { name = name, met = met, diagnostics = codes(which) })
    return met
  end
  local function line_of(text)
    for index, line in ipairs(vim.api.nvim_buf_get_lines(buffer, 0, -1, false)) do
      if line:find(text, 1, true) then
        return index - 1, line
      end
    end
    error('no line holds ' .. text)
  end
  local function replace(from, to)
    local index, line = line_of(from)
    local column = line:find(from, 1, true) - 1
    vim.api.nvim_buf_set_text(buffer, index, column, index, column + #from, { to })
  end

  step('broken on open', function() return #vim.diagnostic.get(buffer) > 0 end)
  -- Fix the misspelt key in the buffer, unsaved.
  replace('"enabeld"', '"enabled"')
  step('fixed in the buffer', function() return #vim.diagnostic.get(buffer) == 0 end)
  replace('"enabled"', '"enabeld"')
  step('broken again', function() return #vim.diagnostic.get(buffer) > 0 end)
  observed.modified = vim.bo[buffer].modified

  -- Hover on the name: the asset's identity.
  local name_line = line_of('"name"')
  vim.api.nvim_win_set_cursor(0, { name_line + 1, 4 })
  local hovered = vim.lsp.buf_request_sync(buffer, 'textDocument/hover', vim.lsp.util.make_position_params(), WAIT)
  local hover = hovered and hovered[client_id] and hovered[client_id].result
  observed.hover = hover and hover.contents and hover.contents.value or vim.NIL

  -- Completion inside the value of type: the asset types.
  local type_line, type_text = line_of('"type"')
  local value_column = type_text:find('"blob"', 1, true)
  vim.api.nvim_win_set_cursor(0, { type_line + 1, value_column + 1 })
  local completed = vim.lsp.buf_request_sync(buffer, 'textDocument/completion', vim.lsp.util.make_position_params(), WAIT)
  local items = completed and completed[client_id] and completed[client_id].result or {}
  observed.completion = {}
  for _, item in ipairs(items.items or items) do
    table.insert(observed.completion, item.label)
  end

  -- A code action on an unregistered asset applies the packer's safe fix (register), as Neovim applies a
  -- code action's command: workspace/executeCommand.
  local coin = project .. '/assets/sfx/coin/asset.json'
  vim.cmd('edit ' .. vim.fn.fnameescape(coin))
  local coin_buffer = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(coin_buffer, client_id)
  step('unregistered coin', function() return #vim.diagnostic.get(coin_buffer) > 0 end, coin_buffer)
  observed.coinDiagnostics = {}
  for _, diagnostic in ipairs(vim.diagnostic.get(coin_buffer)) do
    table.insert(observed.coinDiagnostics, diagnostic.code)
  end
  local first = vim.diagnostic.get(coin_buffer)[1]
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(coin_buffer) },
    range = { start = { line = first.lnum, character = 0 }, ['end'] = { line = first.lnum, character = 0 } },
    context = { diagnostics = {} },
  }
  local answered = vim.lsp.buf_request_sync(coin_buffer, 'textDocument/codeAction', params, WAIT)
  local actions = answered and answered[client_id] and answered[client_id].result or {}
  observed.codeActions = {}
  for _, action in ipairs(actions) do
    table.insert(observed.codeActions, action.title)
  end
  local chosen = actions[1]
  if chosen and chosen.command then
    local executed = vim.lsp.buf_request_sync(coin_buffer, 'workspace/executeCommand', chosen.command, WAIT)
    local result = executed and executed[client_id] and executed[client_id].result
    observed.applied = result and result.outcome or vim.NIL
  end
  step('coin registered', function() return #vim.diagnostic.get(coin_buffer) == 0 end, coin_buffer)
  local index = io.open(project .. '/assets/.prometeu/index.json'):read('*a')
  observed.registeredOnDisk = index:find('"sfx/coin"', 1, true) ~= nil

  vim.lsp.stop_client(client_id)
  vim.wait(WAIT, function() return observed.exit ~= nil end, 10)
end)
if not ok then
  table.insert(observed.errors, tostring(failure))
end
finish()
