# Préparation de la VM Windows du poste DSQ (rôle preparation_invite), lancée une fois à la
# première ouverture de session par le fichier de réponses, depuis le média de préparation.
# Générique : toute la décision (ordre, sommes, détections, réglages) est dans manifeste.json,
# généré et testé côté Ansible. Chaque étape écrit son résultat dans le journal JSON ; la
# première étape en échec arrête la préparation (les suivantes ne sont pas faites).
$ErrorActionPreference = 'Stop'
$Media = Split-Path -Parent $MyInvocation.MyCommand.Path
$Manifeste = Get-Content -Raw -Encoding UTF8 (Join-Path $Media 'manifeste.json') | ConvertFrom-Json
$Journal = [ordered]@{ version = 1; etapes = @(); resultat = 'reussi'
  manifeste_sha256 = (Get-FileHash -Algorithm SHA256 (Join-Path $Media 'manifeste.json')).Hash.ToLower() }

function Test-Detection($d) {
  if ($d.type -eq 'cle_desinstallation') {
    $cles = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
            'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
    $trouve = Get-ItemProperty $cles -ErrorAction SilentlyContinue |
      Where-Object { $_.DisplayName -eq $d.nom_affiche -and (-not $d.version -or $_.DisplayVersion -eq $d.version) }
    return [bool]$trouve
  }
  if (-not (Test-Path -LiteralPath $d.chemin)) { return $false }
  return (Get-Item -LiteralPath $d.chemin).VersionInfo.FileVersion -eq $d.version
}

function Install-Fichier($e) {
  $fichier = Join-Path (Join-Path $Media 'fichiers') $e.fichier
  if (-not (Test-Path -LiteralPath $fichier)) { throw "fichier absent du média : $($e.fichier)" }
  if ((Get-FileHash -Algorithm SHA256 -LiteralPath $fichier).Hash.ToLower() -ne $e.sha256) {
    throw 'somme sha256 différente de celle du manifeste' }
  if (Test-Detection $e.detection) { return 'deja_present' }
  if ($e.type -eq 'vmware_tools') {
    $lecteur = (Mount-DiskImage -ImagePath $fichier -PassThru | Get-Volume).DriveLetter
    $programme = if ($env:PROCESSOR_ARCHITECTURE -eq 'AMD64') { "${lecteur}:\setup64.exe" } else { "${lecteur}:\setup.exe" }
  } elseif ($fichier -like '*.msi') {
    $programme = 'msiexec.exe'; $e.arguments = "/i `"$fichier`" $($e.arguments)"
  } else { $programme = $fichier }
  $p = Start-Process -FilePath $programme -ArgumentList $e.arguments -Wait -PassThru
  if ($e.type -eq 'vmware_tools') { Dismount-DiskImage -ImagePath $fichier | Out-Null }
  if ($p.ExitCode -notin 0, 3010) { $script:code = $p.ExitCode; throw "l'installateur a rendu le code $($p.ExitCode)" }
  if (-not (Test-Detection $e.detection)) { throw 'installé, mais la règle de détection ne le trouve pas' }
  return 'installe'
}

foreach ($e in $Manifeste.etapes) {
  $entree = [ordered]@{ nom = $e.nom; type = $e.type }
  $script:code = $null
  try {
    switch ($e.type) {
      { $_ -in 'installateur', 'vmware_tools' } { $entree.resultat = Install-Fichier $e }
      'fichier' {
        $source = Join-Path (Join-Path $Media 'fichiers') $e.fichier
        if ((Get-FileHash -Algorithm SHA256 -LiteralPath $source).Hash.ToLower() -ne $e.sha256) {
          throw 'somme sha256 différente de celle du manifeste' }
        if ((Test-Path -LiteralPath $e.destination) -and
            (Get-FileHash -Algorithm SHA256 -LiteralPath $e.destination).Hash.ToLower() -eq $e.sha256) {
          $entree.resultat = 'deja_applique'
        } else {
          New-Item -ItemType Directory -Force -Path (Split-Path -Parent $e.destination) | Out-Null
          Copy-Item -LiteralPath $source -Destination $e.destination -Force
          $entree.resultat = 'applique'
        }
      }
      'registre' {
        $cle = $e.cle -replace '^HKLM\\', 'HKLM:\'
        $actuel = (Get-ItemProperty -Path $cle -Name $e.valeur -ErrorAction SilentlyContinue).($e.valeur)
        if ($null -ne $actuel -and "$actuel" -eq "$($e.donnee)") { $entree.resultat = 'deja_applique' } else {
          New-Item -Force -Path $cle | Out-Null
          New-ItemProperty -Force -Path $cle -Name $e.valeur -PropertyType $e.genre -Value $e.donnee | Out-Null
          $entree.resultat = 'applique'
        }
      }
      'resolution_dns' {
        foreach ($nom in $e.noms) { Resolve-DnsName -Name $nom -DnsOnly | Out-Null }
        $entree.resultat = 'verifie'
      }
      default { throw "type d'étape inconnu : $($e.type)" }
    }
  } catch {
    $entree.resultat = 'echec'; $entree.message = "$($_.Exception.Message)"
    if ($null -ne $script:code) { $entree.code = $script:code }
  }
  $Journal.etapes += $entree
  if ($entree.resultat -eq 'echec') { $Journal.resultat = 'echec'; break }
}
New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Manifeste.journal) | Out-Null
$Journal | ConvertTo-Json -Depth 5 | Set-Content -Encoding UTF8 -Path $Manifeste.journal
