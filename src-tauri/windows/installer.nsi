; The Windows installer of the Natter desktop app, built by `cargo xtask bundle` with makensis
; (Debian's `nsis`, or NSIS on a Windows runner). Tauri's own NSIS bundling downloads a plugin
; from GitHub at build time, which the offline build machines cannot; this script needs only
; what NSIS ships.
;
; A per-user install (no administrator prompt) into %LOCALAPPDATA%\Programs\Natter, like most
; chat apps: the app, the WebView2 loader it links, a Start menu shortcut, the natter:// links,
; the name toasts show, and an entry in "Installed apps". Uninstalling removes all of it and the
; "start when I log in" entry, and keeps the user's data (%APPDATA%\org.natter.desktop).
;
; Defines passed by xtask: VERSION (1.2.3), SOURCE (folder holding natter-desktop.exe and
; WebView2Loader.dll), ICON (the .ico), OUTFILE (the installer to write), FAST (optional).

; A 64-bit installer for the 64-bit app (it also runs under a Wine without 32-bit support).
Target amd64-unicode
ManifestDPIAware true
; Test builds (xtask's debug bundle) pass -DFAST: a debug build is large and LZMA takes a minute.
!ifdef FAST
SetCompress off
!else
SetCompressor /SOLID lzma
!endif

!include "MUI2.nsh"
!include "FileFunc.nsh"

!define APP_NAME "Natter"
!define APP_EXE "natter-desktop.exe"
!define IDENTIFIER "org.natter.desktop"
!define PUBLISHER "The Natter developers"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${IDENTIFIER}"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
; The WebView2 runtime's client id (Microsoft's documented way to tell whether it is installed).
!define WEBVIEW2_CLIENT "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
!define WEBVIEW2_DOWNLOAD "https://go.microsoft.com/fwlink/p/?LinkId=2124703"

Name "${APP_NAME}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP_NAME}"
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
RequestExecutionLevel user
BrandingText "${APP_NAME} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP_NAME}"
VIAddVersionKey "FileDescription" "${APP_NAME} installer"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "${PUBLISHER}"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP_NAME}"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; A running copy holds its files open: ask it to close, then make sure it is gone. Its outbox
; and cache are SQLite files, safe at any instant.
!macro StopRunningApp
  nsExec::Exec '"$SYSDIR\taskkill.exe" /IM ${APP_EXE}'
  Sleep 1000
  nsExec::Exec '"$SYSDIR\taskkill.exe" /F /IM ${APP_EXE}'
!macroend

Function .onInit
  SetShellVarContext current
FunctionEnd

; The app's updater (tauri-plugin-updater, installMode "quiet" in tauri.conf.json) runs this
; installer as `/S /UPDATE /R /ARGS <the app's arguments>` after ending the app: silent, then
; the new version starts again where the old one was.
Function .onInstSuccess
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/R" $1
  IfErrors done
  ClearErrors
  ${GetOptions} $0 "/ARGS" $1
  Exec '"$INSTDIR\${APP_EXE}" $1'
  done:
FunctionEnd

Section "Natter" SectionApp
  SectionIn RO
  !insertmacro StopRunningApp
  SetOutPath "$INSTDIR"
  File "${SOURCE}/${APP_EXE}"
  ; The GNU build links WebView2's loader as a DLL; the MSVC build has it inside the .exe.
  File /nonfatal "${SOURCE}/WebView2Loader.dll"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortCut "$SMPROGRAMS\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}"

  ; natter:// links start the app with the link as its one argument (links.rs).
  WriteRegStr HKCU "Software\Classes\natter" "" "URL:Natter link"
  WriteRegStr HKCU "Software\Classes\natter" "URL Protocol" ""
  WriteRegStr HKCU "Software\Classes\natter\DefaultIcon" "" "$INSTDIR\${APP_EXE},0"
  WriteRegStr HKCU "Software\Classes\natter\shell\open\command" "" '"$INSTDIR\${APP_EXE}" "%1"'

  ; The name and icon Windows shows on the app's toasts.
  WriteRegStr HKCU "Software\Classes\AppUserModelId\${IDENTIFIER}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKCU "Software\Classes\AppUserModelId\${IDENTIFIER}" "IconUri" "$INSTDIR\${APP_EXE}"

  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${APP_EXE},0"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $0

  ; Windows 11 and up-to-date Windows 10 have WebView2; without it the app cannot draw.
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_CLIENT}" "pv"
  StrCmp $0 "" 0 webview2_found
  ReadRegStr $0 HKCU "Software\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_CLIENT}" "pv"
  StrCmp $0 "" 0 webview2_found
  IfSilent webview2_found
  MessageBox MB_YESNO|MB_ICONEXCLAMATION "${APP_NAME} needs Microsoft Edge WebView2, which is not installed. Open its download page now?" IDNO webview2_found
  ExecShell "open" "${WEBVIEW2_DOWNLOAD}"
  webview2_found:
SectionEnd

Section "Uninstall"
  !insertmacro StopRunningApp
  Delete "$INSTDIR\${APP_EXE}"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${APP_NAME}.lnk"
  DeleteRegKey HKCU "Software\Classes\natter"
  DeleteRegKey HKCU "Software\Classes\AppUserModelId\${IDENTIFIER}"
  DeleteRegValue HKCU "${RUN_KEY}" "${APP_NAME}"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
SectionEnd
