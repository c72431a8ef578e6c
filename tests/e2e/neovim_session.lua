-- A real Neovim (0.11) as StepForge's LSP client, driven headless by tests/e2e/test_neovim.py.
-- It opens a file of the workspace, starts the daemon with vim.lsp.start, sends `{}` params (which
-- Neovim's Lua encodes as `[]`), runs a check, reads the diagnostics, asks for code actions, runs
-- the quick fix's command, and waits for the diagnostics to clear. Results go to $RESULT as JSON.
local results = { steps = {} }
local function note(key, value)
  results[key] = value
  table.insert(results.steps, key)
end
local function finish()
  local file = io.open(vim.env.RESULT, "w")
  file:write(vim.json.encode(results))
  file:close()
  vim.cmd("qall!")
end

local ok, err = pcall(function()
  local root = vim.env.WORKSPACE
  vim.cmd.edit(root .. "/" .. vim.env.TARGET)
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start({
    name = "stepforge",
    cmd = { vim.env.PYTHON, "-m", "server", "serve" },
    root_dir = root,
    init_options = { watch = true },
  }, { bufnr = bufnr })
  local client = vim.lsp.get_client_by_id(client_id)
  vim.wait(10000, function() return client.initialized end)

  local status = client:request_sync("stepforge/status", {}, 20000, bufnr)
  note("status_error", status.err and status.err.message or vim.NIL)
  note("plan_present", status.result and status.result.planPresent or false)

  local check = client:request_sync("stepforge/check", {}, 300000, bufnr)
  note("check_error", check.err and check.err.message or vim.NIL)
  -- What the check itself found, so a run without diagnostics says whether the check saw them.
  local found = check.result and check.result.problems or {}
  note("check_found", vim.tbl_map(function(p) return p.path .. ":" .. p.line .. " " .. p.code end, found))
  note("check_not_run", check.result and check.result.notRun or vim.NIL)
  vim.wait(60000, function() return #vim.diagnostic.get(bufnr) > 0 end, 200)
  local diagnostics = vim.diagnostic.get(bufnr)
  note("diagnostics", vim.tbl_map(function(d)
    return { lnum = d.lnum, code = d.code, source = d.source, message = d.message }
  end, diagnostics))

  local lsp_diagnostics = vim.tbl_map(function(d) return d.user_data.lsp end, diagnostics)
  local actions = client:request_sync("textDocument/codeAction", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = lsp_diagnostics[1].range,
    context = { diagnostics = lsp_diagnostics },
  }, 20000, bufnr)
  local fix = actions.result and actions.result[1]
  note("action", fix and { title = fix.title, kind = fix.kind, command = fix.command.command } or vim.NIL)

  local ran = client:request_sync("workspace/executeCommand", fix.command, 120000, bufnr)
  note("command_error", ran.err and ran.err.message or vim.NIL)
  note("outcome", ran.result and ran.result.outcome or vim.NIL)
  vim.wait(90000, function() return #vim.diagnostic.get(bufnr) == 0 end, 200)
  note("remaining", #vim.diagnostic.get(bufnr))
end)
if not ok then
  note("lua_error", tostring(err))
end
finish()
