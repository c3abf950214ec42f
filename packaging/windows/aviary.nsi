; Aviary's Windows installer (NSIS 3, built on Linux by scripts/package.sh with Debian's
; `nsis` package). Installs aviary.exe and aviary-server.exe for all users under
; Program Files, a Start-menu entry, an uninstaller registered in "Apps & features", and
; the file types .plan (mission plan) and .tlog (MAVLink telemetry log).
;
; scripts/package.sh passes: /DVERSION=x.y.z /DSTAGE=<folder with the files> /DOUTFILE=<exe>
; A 64-bit Unicode installer: non-ASCII install paths and user names stay intact, and it runs
; where only 64-bit Windows code runs (Debian's wine64 without wine32, for the test).

Target amd64-unicode
!include "MUI2.nsh"
!include "x64.nsh"

!ifndef VERSION
  !error "pass /DVERSION=x.y.z"
!endif
!ifndef STAGE
  !error "pass /DSTAGE=folder"
!endif
!ifndef OUTFILE
  !error "pass /DOUTFILE=installer.exe"
!endif

!define APP "Aviary"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Aviary"

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP}"
InstallDirRegKey HKLM "Software\${APP}" "InstallDir"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
BrandingText "${APP} ${VERSION}"

!define MUI_ICON "${STAGE}\aviary.ico"
!define MUI_UNICON "${STAGE}\aviary.ico"
!insertmacro MUI_PAGE_LICENSE "${STAGE}\LICENSE.txt"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_RUN "$INSTDIR\aviary.exe"
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "FileDescription" "${APP} drone ground control station installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "MIT OR Apache-2.0"

; One file type: its ProgID, description and icon; "Open" starts Aviary.
!macro FileType EXT PROGID DESCRIPTION
  WriteRegStr HKLM "Software\Classes\.${EXT}" "" "${PROGID}"
  WriteRegStr HKLM "Software\Classes\${PROGID}" "" "${DESCRIPTION}"
  WriteRegStr HKLM "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\aviary.ico"
  WriteRegStr HKLM "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\aviary.exe" "%1"'
  WriteRegStr HKLM "Software\Classes\Applications\aviary.exe\SupportedTypes" ".${EXT}" ""
!macroend

!macro UnFileType EXT PROGID
  ReadRegStr $0 HKLM "Software\Classes\.${EXT}" ""
  StrCmp $0 "${PROGID}" 0 +2
    DeleteRegKey HKLM "Software\Classes\.${EXT}"
  DeleteRegKey HKLM "Software\Classes\${PROGID}"
!macroend

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "Aviary needs 64-bit Windows."
    Abort
  ${EndIf}
  SetRegView 64
FunctionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

Section "Aviary" SecMain
  SectionIn RO
  SetOutPath "$INSTDIR"
  File "${STAGE}\aviary.exe"
  File "${STAGE}\aviary-server.exe"
  File "${STAGE}\aviary.ico"
  File "${STAGE}\README.txt"
  File "${STAGE}\LICENSE.txt"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  SetShellVarContext all
  CreateDirectory "$SMPROGRAMS\${APP}"
  CreateShortcut "$SMPROGRAMS\${APP}\${APP}.lnk" "$INSTDIR\aviary.exe" "" "$INSTDIR\aviary.ico"
  CreateShortcut "$SMPROGRAMS\${APP}\Uninstall ${APP}.lnk" "$INSTDIR\uninstall.exe"

  !insertmacro FileType "plan" "Aviary.Plan" "Aviary mission plan"
  !insertmacro FileType "tlog" "Aviary.Tlog" "MAVLink telemetry log"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'

  WriteRegStr HKLM "Software\${APP}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "Aviary"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\aviary.ico"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
SectionEnd

; The uninstaller removes the program, its menu entries and file types. The operator's data
; (%APPDATA%\Aviary, %LOCALAPPDATA%\aviary) stays, as with every desktop application.
Section "Uninstall"
  SetShellVarContext all
  Delete "$SMPROGRAMS\${APP}\${APP}.lnk"
  Delete "$SMPROGRAMS\${APP}\Uninstall ${APP}.lnk"
  RMDir "$SMPROGRAMS\${APP}"

  !insertmacro UnFileType "plan" "Aviary.Plan"
  !insertmacro UnFileType "tlog" "Aviary.Tlog"
  DeleteRegKey HKLM "Software\Classes\Applications\aviary.exe"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'

  Delete "$INSTDIR\aviary.exe"
  Delete "$INSTDIR\aviary-server.exe"
  Delete "$INSTDIR\aviary.ico"
  Delete "$INSTDIR\README.txt"
  Delete "$INSTDIR\LICENSE.txt"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINST_KEY}"
  DeleteRegKey HKLM "Software\${APP}"
SectionEnd
