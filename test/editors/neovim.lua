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

  local function codes()
    local found = {}
    for _, diagnostic in ipairs(vim.diagnostic.get(buffer)) do
      table.insert(found, { code = diagnostic.code, source = diagnostic.source, line = diagnostic.lnum,
        col = diagnostic.col, endCol = diagnostic.end_col, severity = diagnostic.severity })
    end
    return found
  end
  local function step(name, condition)
    local met = vim.wait(WAIT, condition, 10)
    table.insert(observed.steps, { name = name, met = met, diagnostics = codes() })
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

  vim.lsp.stop_client(client_id)
  vim.wait(WAIT, function() return observed.exit ~= nil end, 10)
end)
if not ok then
  table.insert(observed.errors, tostring(failure))
end
finish()
